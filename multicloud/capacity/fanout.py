"""POST .../check_vim_capacity: ask every listed region at once, keep those that fit."""

from __future__ import annotations

import json
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.db import connections

from multicloud import transaction
from multicloud.broker import service as broker
from multicloud.broker.forward import forward_to
from multicloud.capacity import service
from multicloud.exceptions import BadRequest, MulticloudError
from multicloud.http import Request
from multicloud.vims import service as vims
from multicloud.vims.models import CloudRegion

log = logging.getLogger(__name__)

MAX_PARALLEL = 16
#: Most distinct regions one check_vim_capacity request may ask.
MAX_REGIONS = 100


def parse_vims(body: dict[str, Any], version: str) -> list[tuple[str, str]]:
    """The (owner, region) pairs of ``VIMs``: vim-id strings (v0) or objects (v1)."""
    listed = body.get("VIMs")
    if not isinstance(listed, list):
        raise BadRequest("VIMs must be a list of cloud regions")
    pairs = []
    for item in listed:
        if version == "v0" and isinstance(item, str):
            pairs.append(vims.parse_vim_id(item))
        elif version == "v1" and isinstance(item, dict) and _v1_keys(item):
            pairs.append((vims.check_owner(item["cloud-owner"]), item["cloud-region-id"]))
        else:
            expected = (
                "a vim id string"
                if version == "v0"
                else ('an object with "cloud-owner" and "cloud-region-id"')
            )
            raise BadRequest(f"each entry of VIMs must be {expected}, not {item!r}")
    # NOTE: each distinct region costs several calls with its stored credentials;
    # duplicates are asked once (M1 of the security audit).
    distinct = list(dict.fromkeys(pairs))
    if len(distinct) > MAX_REGIONS:
        raise BadRequest(f"VIMs may list at most {MAX_REGIONS} distinct regions")
    return distinct


def _v1_keys(item: dict) -> bool:
    return all(isinstance(item.get(k), str) and item[k] for k in ("cloud-owner", "cloud-region-id"))


def check_all(
    pairs: list[tuple[str, str]], demand: service.Demand, request: Request
) -> list[dict[str, Any] | None]:
    """One answer per pair, in order; None for a region that failed or does not fit."""
    if not pairs:
        return []
    with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(pairs))) as pool:
        # NOTE: each region's calls carry the request's ONAP ids (a context per thread).
        one = transaction.propagating(_one)
        return list(pool.map(lambda pair: one(pair, demand, request), pairs))


def _one(pair: tuple[str, str], demand: service.Demand, request: Request) -> dict | None:
    owner, region = pair
    try:
        return _ask(owner, region, demand, request)
    except MulticloudError as exc:
        log.warning("capacity of %s_%s unknown: %s", owner, region, exc.message)
        return None
    finally:
        connections.close_all()


def _ask(owner: str, region: str, demand: service.Demand, request: Request) -> dict | None:
    record = vims.get_region(owner, region)
    plugin = broker.plugin_for(record.cloud_type, record.cloud_region_version)
    if plugin is not None:
        return _ask_plugin(plugin, record, demand, request)
    answer = service.check(record, demand, request.headers.get("project"))
    return answer if answer["result"] else None


def _ask_plugin(plugin, record: CloudRegion, demand, request: Request) -> dict | None:
    relative = f"v1/{record.cloud_owner}/{record.cloud_region_id}/capacity_check"
    body = json.dumps(
        {"vCPU": demand.vcpus, "Memory": demand.memory_gb, "Storage": demand.storage_gb}
    ).encode()
    sub = Request("POST", request.path, {}, "", request.headers, None, request.base_url)
    answer = forward_to(plugin, sub, relative, body)
    payload = b"".join(answer.stream or [])
    if answer.status != 200:
        return None
    try:
        result = json.loads(payload)
    except ValueError:
        return None
    return result if isinstance(result, dict) and result.get("result") else None
