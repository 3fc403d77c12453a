"""The image service's metadata API without a cloud."""

from __future__ import annotations

import itertools
from types import SimpleNamespace

from multicloud.images import service


def test_a_list_without_a_limit_stops_at_the_cap(monkeypatch):
    """M1: a Glance that pages for ever gives at most MAX_LISTED images."""

    def endless(**kwargs):
        return ({"id": str(n), "name": "x", "status": "active"} for n in itertools.count())

    region = SimpleNamespace(vim_id="o_r", cloud_owner="o", cloud_region_id="r")
    glance = SimpleNamespace(images=SimpleNamespace(list=endless))
    monkeypatch.setattr(service, "MAX_LISTED", 25)
    listed = service.list_images(service.Target(region, "t", glance), None, None, None)
    assert len(listed["images"]) == 25
