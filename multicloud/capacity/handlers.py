"""HTTP handlers: per-region capacity_check and the broker's check_vim_capacity."""

from __future__ import annotations

from multicloud.capacity import fanout, service
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
    body = request.json_object()
    demand = service.parse_demand(body)
    pairs = fanout.parse_vims(body, version)
    answers = fanout.check_all(pairs, demand, request)
    if version == "v0":
        kept = [f"{o}_{r}" for (o, r), a in zip(pairs, answers, strict=True) if a]
        return json_response({"VIMs": kept})
    by_pair = dict(zip(pairs, answers, strict=True))
    kept_v1, seen = [], set()
    for item in body["VIMs"]:
        pair = (item["cloud-owner"], item["cloud-region-id"])
        answer = by_pair.get(pair)
        if answer and pair not in seen:
            seen.add(pair)
            kept_v1.append({**item, "AZs": answer.get("AZs", [])})
    return json_response({"VIMs": kept_v1})
