"""The one error answer: which exceptions become which status."""

import json
import logging

import pytest
from django.db import DataError, IntegrityError, InterfaceError, OperationalError

from multicloud.exceptions import NotFound, UpstreamError
from multicloud.http import error_response


@pytest.mark.parametrize(
    "exc",
    [
        OperationalError('connection to server at "127.0.0.1", port 5432 failed'),
        OperationalError("terminating connection due to administrator command"),
        InterfaceError("connection already closed"),
    ],
)
def test_a_database_outage_is_a_503_json_answer_not_a_500(exc):
    response = error_response(exc, "registry")
    assert response.status == 503
    assert json.loads(response.body) == {
        "error": "the database is unavailable; try again later",
        "code": 503,
    }


@pytest.mark.parametrize("exc", [IntegrityError("duplicate key"), DataError("bad value")])
def test_other_database_errors_stay_a_generic_500(exc):
    response = error_response(exc, "registry")
    assert response.status == 500
    assert json.loads(response.body) == {"error": "internal server error", "code": 500}


def test_a_database_outage_never_shows_the_driver_message(caplog):
    response = error_response(OperationalError("password authentication failed for x"))
    assert b"password" not in response.body
    assert "database is unavailable" in caplog.text


def test_our_own_errors_keep_their_status():
    assert error_response(NotFound("no such region")).status == 404


def _raised(exc: BaseException) -> BaseException:
    """``exc`` with a traceback, as handlers raise it."""
    try:
        raise exc
    except BaseException as caught:  # noqa: BLE001 - handed back as it was raised
        return caught


def test_a_client_error_is_not_logged_above_debug(caplog):
    caplog.set_level(logging.DEBUG, logger="multicloud.http")
    error_response(_raised(NotFound("no such region")), "registry")
    assert [r.levelno for r in caplog.records] == [logging.DEBUG]
    assert "registry answered 404" in caplog.text


def test_a_server_error_is_logged_with_its_traceback_and_route_name(caplog):
    error_response(_raised(UpstreamError("the cloud failed")), "servers_v1")
    (record,) = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert record.getMessage() == "servers_v1 failed: the cloud failed"
    assert record.exc_info is not None


def test_a_bug_is_logged_with_its_traceback_and_answers_a_generic_500(caplog):
    response = error_response(_raised(KeyError("secret-ish detail")), "flavors_v1")
    assert json.loads(response.body) == {"error": "internal server error", "code": 500}
    (record,) = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert "flavors_v1" in record.getMessage() and record.exc_info is not None
