"""First-match precedence and placeholders of the shared router."""

import pytest

from multicloud.exceptions import MethodNotAllowed, NotFound
from multicloud.http import constant
from multicloud.routing import Route, Router


def _handler(request):
    return constant({})


ROUTES = [
    Route("file", ("POST",), "/v0/{vimid}/{tenant}/images/file", _handler),
    Route("image", ("GET", "DELETE"), "/v0/{vimid}/{tenant}/images/{imageid}", _handler),
    Route("types", ("GET",), "/v0/vim_types", _handler),
    Route("region", ("DELETE",), "/v0/{vimid}", _handler),
    Route("proxy", ("GET", "POST"), "/v0/{vimid}/compute/{rest}", _handler),
]
ROUTER = Router(ROUTES)


def test_an_earlier_route_owns_its_path_for_every_method():
    with pytest.raises(MethodNotAllowed):
        ROUTER.match("GET", "/v0/owner_region/t1/images/file")


def test_placeholders_capture_path_segments():
    route, params = ROUTER.match("DELETE", "/v0/owner_region/t1/images/abc-123")
    assert route.name == "image"
    assert params == {"vimid": "owner_region", "tenant": "t1", "imageid": "abc-123"}


def test_a_segment_may_hold_dots_for_host_names():
    _, params = ROUTER.match("GET", "/v0/o_r/t/images/domain-c202.22bf")
    assert params["imageid"] == "domain-c202.22bf"


def test_rest_captures_the_remainder_with_slashes():
    _, params = ROUTER.match("POST", "/v0/o_r/compute/v2.1/servers/x/action")
    assert params["rest"] == "v2.1/servers/x/action"


def test_a_static_path_wins_over_a_later_placeholder():
    route, _ = ROUTER.match("GET", "/v0/vim_types")
    assert route.name == "types"


def test_a_static_path_after_a_matching_placeholder_is_shadowed():
    router = Router([ROUTES[3], ROUTES[2]])
    with pytest.raises(NotFound):
        router.match("GET", "/v0/vim_types")


@pytest.mark.parametrize("path", ["/v0/vim_typo", "/v0/vimtypo", "/v0/o_r/"])
def test_another_method_on_a_bare_region_path_is_404_not_405(path):
    with pytest.raises(NotFound) as raised:
        ROUTER.match("GET", path)
    assert not isinstance(raised.value, MethodNotAllowed)
    assert ROUTER.match("DELETE", path)[0].name == "region"


def test_another_method_below_a_region_is_still_405():
    with pytest.raises(MethodNotAllowed):
        ROUTER.match("PUT", "/v0/o_r/t/images/abc")


def test_another_method_below_a_vimid_that_names_no_region_is_404_not_405():
    with pytest.raises(NotFound) as raised:
        ROUTER.match("PUT", "/v0/vimtypo/t/images/abc")
    assert not isinstance(raised.value, MethodNotAllowed)


def _paths_for(routes, rng, words):
    """Paths made from every pattern (placeholders filled at random) and random word paths."""
    import re

    paths = set()
    for route in routes:
        for _ in range(20):
            path = re.sub(
                r"\{rest\}",
                lambda _m: "/".join(rng.choice(words) for _ in range(rng.randint(0, 3))),
                route.pattern,
            )
            path = re.sub(r"\{[a-z_]+\}", lambda _m: rng.choice(words), path)
            paths.add(path + ("/" if rng.random() < 0.3 else ""))
    for _ in range(5000):
        length = rng.randint(0, 9)
        paths.add("/" + "/".join(rng.choice(words) for _ in range(length)) + rng.choice("/ "))
    return {p.rstrip(" ") for p in paths}


def test_the_segment_index_picks_what_trying_every_route_in_order_picks():
    """The index only narrows the routes tried: over the real table, same answer as a scan."""
    import random

    from multicloud.api.routes import ROUTER as REAL

    words = [
        *{seg for r in REAL.routes for seg in r.pattern.split("/") if "{" not in seg},
        "o_r", "o", "r", "", "x", "a%20b", "..", "v2.1", "tokens",
    ]  # fmt: skip
    paths = _paths_for(REAL.routes, random.Random(7), words)
    assert len(paths) > 5000
    for path in paths:
        scanned = REAL._exact.get(path) or Router._first_match(path, REAL.routes)
        try:
            found = REAL._find(path)[0]
        except NotFound:
            found = None
        assert found is scanned, path


def test_a_placeholder_inside_a_segment_is_still_matched():
    router = Router(
        [
            Route("versioned", ("GET",), "/v0/api-{version}/x", _handler),
            Route("any", ("GET",), "/v0/{name}/x", _handler),
        ]
    )
    assert router.match("GET", "/v0/api-2/x")[0].name == "versioned"
    assert router.match("GET", "/v0/other/x/")[0].name == "any"
