"""check_vim_status reads every server page by page, bounded (M1)."""

from __future__ import annotations

import itertools

import pytest

from multicloud.exceptions import UpstreamError
from multicloud.status import service


class FakeNova:
    """A compute API answering full pages: the same one again, or new ones for ever."""

    def __init__(self, repeat: bool):
        self.repeat = repeat
        self.calls = 0
        self.ids = itertools.count()

    def get(self, path, params):
        self.calls += 1
        first = 0 if self.repeat else next(self.ids) * service.PAGE
        page = [{"id": f"s{first + i}"} for i in range(service.PAGE)]
        return type("Answer", (), {"json": lambda _self: {"servers": page}})()


def test_a_page_answered_again_ends_the_listing():
    nova = FakeNova(repeat=True)
    with pytest.raises(UpstreamError, match="same page again"):
        service._servers(nova, {})
    assert nova.calls == 2


def test_endless_new_pages_end_at_the_cap(monkeypatch):
    monkeypatch.setattr(service, "MAX_PAGES", 3)
    nova = FakeNova(repeat=False)
    with pytest.raises(UpstreamError, match="more than 3000 servers"):
        service._servers(nova, {})
    assert nova.calls == 3
