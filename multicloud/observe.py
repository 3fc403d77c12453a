"""What both web adapters do around every request: ONAP ids and request metrics.

The Django middleware (:mod:`multicloud.api.django_middleware`) and the Pecan
app (:mod:`pecan_app.app`) call :func:`begin` when a request arrives and
:meth:`Observation.finish` with the status of its answer. The adapters put the
name of the route that served a request in its WSGI environ under
:data:`ROUTE_KEY`; requests no route served (404, 405) count as ``unmatched``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from multicloud import metrics, transaction

ROUTE_KEY = "multicloud.route"
UNMATCHED = "unmatched"


class Observation:
    """One request between :func:`begin` and :meth:`finish`."""

    __slots__ = ("started", "transaction", "_token")

    def __init__(self, current: transaction.Transaction):
        self.started = time.perf_counter()
        self.transaction = current
        self._token = transaction.begin(current)

    def finish(self, route: str | None, method: str, status: int) -> list[tuple[str, str]]:
        """Record the request; the headers to add to its answer."""
        metrics.observe_request(
            route or UNMATCHED, method, status, time.perf_counter() - self.started
        )
        return transaction.response_headers(self.transaction)

    def close(self) -> None:
        """Leave the request's context (its ids are no longer current)."""
        transaction.end(self._token)


def begin_environ(environ: Mapping[str, Any]) -> Observation:
    """A request arrived with this WSGI environ (its headers are read straight from it)."""

    def header(name: str) -> str | None:
        return environ.get("HTTP_" + name.upper().replace("-", "_"))

    return Observation(transaction.from_headers(header))
