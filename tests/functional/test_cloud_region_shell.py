"""``manage.py cloud_region`` without a cloud: its help and an empty list say something."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest
from django.core.management import call_command

from tests.servers import ROOT


def test_the_help_describes_every_action():
    done = subprocess.run(
        [sys.executable, "manage.py", "cloud_region", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0
    for action, words in {
        "register": "register or update",
        "show": "registration and discovery",
        "unregister": "remove a region",
        "list": "one line per region",
    }.items():
        assert action in done.stdout and words in done.stdout


@pytest.mark.django_db
def test_an_empty_list_says_so():
    out = io.StringIO()
    call_command("cloud_region", "list", stdout=out)
    assert out.getvalue().startswith("no cloud regions registered")
