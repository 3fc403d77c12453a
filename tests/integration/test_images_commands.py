"""upload_image / download_image commands against the sandbox."""

from __future__ import annotations

import hashlib
import io
import json

import pytest
from django.core.management import call_command

from tests.conftest import DjangoApi
from tests.integration.images_helpers import (
    MIB,
    register,
    unique_name,
    write_file,
)


class Terminal(io.StringIO):
    """A captured stream that says it is a terminal (the progress bar draws only there)."""

    def isatty(self) -> bool:
        return True


pytestmark = [pytest.mark.sandbox, pytest.mark.django_db(transaction=True)]


def test_upload_then_download_with_progress(sandbox, glance, image_conf, tmp_path):
    register(DjangoApi(), sandbox)
    source = tmp_path / "disk.raw"
    sha = write_file(source, 3 * MIB)
    name = unique_name()
    glance.track(name)
    out, err = io.StringIO(), Terminal()
    call_command(
        "upload_image",
        str(source),
        vim="osbox_RegionOne",
        tenant="admin",
        name=name,
        stdout=out,
        stderr=err,
    )
    image = json.loads(out.getvalue())
    assert image["status"] == "active" and image["size"] == 3 * MIB
    assert "100%" in err.getvalue() and "upload" in err.getvalue()
    assert "3.00M/3.00M" in err.getvalue()  # tqdm: bytes done/total (MiB), then rate and ETA
    target = tmp_path / "back.raw"
    quiet = io.StringIO()
    call_command(
        "download_image",
        image["id"],
        vim="osbox_RegionOne",
        tenant="admin",
        output=str(target),
        stdout=io.StringIO(),
        stderr=quiet,
    )
    assert hashlib.sha256(target.read_bytes()).hexdigest() == sha
    assert quiet.getvalue() == ""  # not a terminal: no progress bar
