"""The one error answer: which exceptions become which status."""

import json

import pytest
from django.db import DataError, IntegrityError, InterfaceError, OperationalError

from multicloud.exceptions import NotFound
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
