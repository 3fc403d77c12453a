"""Image metadata from a request."""

from __future__ import annotations

import pytest

from multicloud.exceptions import BadRequest
from multicloud.images.metadata import parse_meta


def test_metadata_defaults_from_the_file_name_and_validation():
    meta = parse_meta({}, "cirros-0.6.qcow2")
    assert (meta.name, meta.disk_format, meta.container_format) == ("cirros-0.6", "qcow2", "bare")
    with pytest.raises(BadRequest, match="imageType"):
        parse_meta({"name": "x", "imageType": "exe"})
    with pytest.raises(BadRequest, match="containerFormat"):
        parse_meta({"name": "x", "imageType": "raw", "containerFormat": "zip"})
    with pytest.raises(BadRequest, match="properties"):
        parse_meta({"name": "x", "imageType": "raw", "properties": "[1]"})
    with pytest.raises(BadRequest, match="attribute 'size'"):
        parse_meta({"name": "x", "imageType": "raw", "properties": {"size": "1"}})
    ok = parse_meta({"name": "x", "imageType": "RAW", "properties": '{"vmware_ostype": 1}'})
    assert ok.properties == {"vmware_ostype": "1"} and ok.disk_format == "raw"
