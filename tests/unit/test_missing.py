"""tests/missing.py: a missing service skips a test, except under CI=true where it fails it."""

import pytest

from tests.missing import missing


@pytest.mark.parametrize(
    ("ci", "outcome"), [("", pytest.skip.Exception), ("true", pytest.fail.Exception)]
)
def test_a_missing_service_skips_or_fails_under_ci(monkeypatch, ci, outcome):
    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="RabbitMQ not available"):
        missing("RabbitMQ not available: no rabbitmqctl")
