"""A service or tool a test needs is missing: the one rule for what happens then.

The test is skipped with the reason (the suite sums skips up one line per reason), except
under ``CI=true``, where everything must run: there it fails with the same reason.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def missing(reason: str) -> NoReturn:
    """Skip the test for ``reason``; fail it under ``CI=true``."""
    if in_ci():
        pytest.fail(f"required under CI=true: {reason}", pytrace=False)
    pytest.skip(reason)
