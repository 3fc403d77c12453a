"""The byte-parity check of tests/conftest.py fails on every kind of difference."""

from __future__ import annotations

import pytest

from tests.conftest import Answer, _answer, assert_same_answers

HEADERS = [("Content-Type", "application/json"), ("Content-Length", "2"), ("Date", "d1")]


def run(status=200, headers=HEADERS, body=b"{}") -> list[tuple[str, str, Answer]]:
    return [("GET", "/x", _answer(status, list(headers), body))]


def test_identical_answers_pass_whatever_their_date_and_server():
    other = [*HEADERS[:2], ("Date", "d2"), ("Server", "s")]
    assert_same_answers(run(), run(headers=other))


@pytest.mark.parametrize(
    "pecan",
    [
        run(status=201),
        run(body=b"[]"),
        run(headers=[("content-type", "text/plain"), *HEADERS[1:]]),
        run(headers=[*HEADERS, ("Allow", "GET")]),
        run(headers=[*HEADERS, ("Content-Length", "2")]),  # a header sent twice
        run(headers=[HEADERS[1], HEADERS[0], HEADERS[2]]),  # another order
        run() + run(),  # one request more
    ],
    ids=["status", "body", "header value", "extra header", "repeated", "order", "requests"],
)
def test_any_difference_fails(pecan):
    with pytest.raises(AssertionError):
        assert_same_answers(run(), pecan)


def test_generated_onap_ids_compare_as_present_but_must_be_there():
    ours = run(headers=[*HEADERS, ("X-ONAP-RequestID", "a")])
    theirs = run(headers=[*HEADERS, ("X-ONAP-RequestID", "b")])
    assert_same_answers(ours, theirs)
    with pytest.raises(AssertionError):
        assert_same_answers(ours, run())
