"""The docs page in headless Chromium: Swagger UI from our own assets, vim_types tried → 200."""

from __future__ import annotations

import pytest

from tests.browser import Browser
from tests.servers import Service

pytestmark = pytest.mark.system

OPERATION = "#operations-vim-vim_types_v0_get"


@pytest.fixture
def browser(tmp_path):
    page = Browser(tmp_path / "chromium-profile")
    yield page
    page.close()


@pytest.mark.parametrize("mode", ["django", "pecan"])
def test_the_vim_types_operation_can_be_tried_from_the_page(tmp_path, browser, mode):
    svc = Service(tmp_path, WEB_FRAMEWORK=mode)
    try:
        svc.wait_ready()
        browser.call("Page.navigate", url=f"{svc.url}/api/multicloud/v0/docs")
        count = browser.wait_for("document.querySelectorAll('.opblock').length")
        assert count > 10
        title = browser.evaluate("document.querySelector('.info .title').textContent")
        assert "Multicloud broker API" in title
        browser.evaluate(f"document.querySelector('{OPERATION} .opblock-summary-control').click()")
        browser.wait_for(f"!!document.querySelector('{OPERATION} .try-out__btn')")
        browser.evaluate(f"document.querySelector('{OPERATION} .try-out__btn').click()")
        browser.wait_for(f"!!document.querySelector('{OPERATION} .execute')")
        browser.evaluate(f"document.querySelector('{OPERATION} .execute').click()")
        status = browser.wait_for(
            f"(document.querySelector('{OPERATION} .live-responses-table tr.response "
            ".response-col_status') || {}).textContent"
        )
        assert status.strip() == "200"
        url = browser.evaluate(
            f"document.querySelector('{OPERATION} .request-url pre').textContent"
        )
        assert url.strip() == f"{svc.url}/api/multicloud/v0/vim_types"
        # Every resource the page loaded came from this service.
        loaded = browser.evaluate("performance.getEntriesByType('resource').map(e => e.name)")
        assert loaded and all(u.startswith(svc.url + "/") for u in loaded), loaded
    finally:
        svc.stop()
