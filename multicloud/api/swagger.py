"""Swagger 2.0 documents generated from the route table, so they never drift."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from multicloud.http import Response, constant
from multicloud.routing import APIS, Doc, Route

_ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {"type": "string", "description": "what went wrong"},
        "code": {"type": "integer", "description": "the HTTP status"},
    },
}


def document(routes: Sequence[Route], namespace: str, version: str) -> dict[str, Any]:
    """The Swagger document for every route of ``namespace`` at API ``version``."""
    base_path = f"/api/{namespace}/{version}/"
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        if (route.namespace, route.version) == (namespace, version):
            relative = "/" + route.pattern[len(base_path) :]
            operations = paths.setdefault(relative, {})
            for method in route.methods:
                operations[method.lower()] = _operation(route, method)
    return {
        "swagger": "2.0",
        "info": {"title": APIS.get((namespace, version), "Multicloud API"), "version": "1.0.0"},
        # NOTE: no trailing slash: clients join basePath and a path ("/vim_types").
        "basePath": base_path.rstrip("/"),
        "schemes": ["http", "https"],
        "consumes": ["application/json"],
        "produces": ["application/json"],
        "paths": paths,
        "definitions": {"Error": _ERROR_SCHEMA},
    }


def _operation(route, method: str) -> dict[str, Any]:
    doc = (route.docs or {}).get(method) or Doc(status=route.status)
    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "type": "string"} for name in route.params
    ]
    parameters += [{"name": name, "in": "query", "type": "string"} for name in doc.query]
    if doc.request is not None:
        parameters.append({"name": "body", "in": "body", "required": True, "schema": doc.request})
    success: dict[str, Any] = {"description": "success"}
    if doc.answer is not None:
        success["schema"] = doc.answer
    return {
        "operationId": f"{route.name}_{method.lower()}",
        "summary": route.summary or route.name,
        "tags": [route.name.split("_", 1)[0]],
        "parameters": parameters,
        "responses": {
            str(doc.status): success,
            "default": {"description": "error", "schema": {"$ref": "#/definitions/Error"}},
        },
    }


@cache
def _document_response(routes: tuple[Route, ...], namespace: str, version: str) -> Response:
    return constant(document(routes, namespace, version))


def serve(routes: tuple[Route, ...], namespace: str, version: str) -> Response:
    """The (cached) answer of ``{namespace}/{version}/swagger.json``."""
    return _document_response(routes, namespace, version)
