"""HTTP handlers: per-region capacity_check and the broker's check_vim_capacity."""

from __future__ import annotations

from multicloud.capacity import fanout, service
from multicloud.exceptions import BadRequest
from multicloud.http import Request, Response, json_response
from multicloud.vims import service as vims


def capacity_check(request: Request) -> Response:
    """POST .../{vimid}/capacity_check: {"result": bool, "AZs": [...]}."""
    record = vims.region_of(request)
    demand = service.parse_demand(request.json())
    return json_response(service.check(record, demand, request.headers.get("project")))


def check_vim_capacity(request: Request) -> Response:
    """POST /api/multicloud/v0|v1/check_vim_capacity: the listed regions where it fits."""
    version = request.route.version
    body = request.json()
    if not isinstance(body, dict):
        raise BadRequest("request body must be a JSON object")
    demand = service.parse_demand(body)
    pairs = fanout.parse_vims(body, version)
    answers = fanout.check_all(pairs, demand, request)
    if version == "v0":
        kept = [f"{o}_{r}" for (o, r), a in zip(pairs, answers, strict=True) if a]
        return json_response({"VIMs": kept})
    kept_v1 = [
        {**item, "AZs": answer.get("AZs", [])}
        for item, answer in zip(body["VIMs"], answers, strict=True)
        if answer
    ]
    return json_response({"VIMs": kept_v1})
