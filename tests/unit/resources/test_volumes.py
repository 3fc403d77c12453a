"""Cinder volumes in the typed API's names."""

from __future__ import annotations

from multicloud.resources.volumes import volume_shape

CINDER_VOLUME = {
    "id": "v1",
    "name": "data",
    "status": "in-use",
    "created_at": "2026-01-01T00:00:00.000000",
    "size": 2,
    "volume_type": "thin",
    "availability_zone": "nova",
    "volume_image_metadata": {"image_id": "i1"},
    "attachments": [
        {"attachment_id": "a1", "server_id": "s1", "device": "/dev/vdb", "host_name": "h1"}
    ],
}


def test_a_volume_answers_the_request_names_and_the_vio_ones():
    shaped = volume_shape(CINDER_VOLUME)
    assert shaped["volumeSize"] == shaped["size"] == 2
    assert shaped["volumeType"] == shaped["type"] == "thin"
    assert shaped["imageId"] == "i1" and shaped["createTime"] == CINDER_VOLUME["created_at"]
    assert shaped["attachments"] == [
        {
            "id": "a1",
            "Id": "a1",
            "volumeId": "v1",
            "serverId": "s1",
            "device": "/dev/vdb",
            "hostName": "h1",
        }
    ]


def test_a_blank_volume_has_no_image_and_no_attachments():
    shaped = volume_shape({"id": "v2", "size": 1, "attachments": []})
    assert shaped["imageId"] is None and shaped["attachments"] == []
