"""Downloads' pure parts: the export directory."""

from __future__ import annotations

import pytest

from multicloud.exceptions import BadRequest, Forbidden
from multicloud.images import download


def test_export_is_off_without_a_directory_and_confined_to_it(tmp_path):
    with pytest.raises(Forbidden, match="disabled"):
        download.export_path(None, "/tmp")
    base = tmp_path / "export"
    (base / "sub").mkdir(parents=True)
    (base / "escape").symlink_to(tmp_path)
    assert download.export_path(base, "sub") == base / "sub"
    assert download.export_path(base, str(base / "new")) == base / "new"
    for outside in ("/etc", "../", "sub/../../x", str(tmp_path), "escape/x"):
        with pytest.raises(Forbidden, match="inside the export directory"):
            download.export_path(base, outside)
    with pytest.raises(BadRequest):
        download.export_path(base, 42)
