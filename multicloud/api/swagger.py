"""Swagger 2.0 documents generated from the route table, so they never drift."""

from __future__ import annotations

from functools import cache
from typing import Any

from multicloud.api.http import Request, Response, constant

TITLES = {
    "/api/multicloud/v0/": "Multicloud broker API",
    "/api/multicloud/v1/": "Multicloud broker API (v1)",
    "/api/multicloud-vio/v0/": "Multicloud VIO/OpenStack plugin API",
    "/api/multicloud-vio/v1/": "Multicloud VIO/OpenStack plugin API (v1)",
}

_ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {"type": "string", "description": "what went wrong"},
        "code": {"type": "integer", "description": "the HTTP status"},
    },
}


def document(base_path: str) -> dict[str, Any]:
    """The Swagger document for every route under ``base_path``."""
    from multicloud.api.routes import ROUTES

    paths: dict[str, dict[str, Any]] = {}
    for route in ROUTES:
        if route.pattern.startswith(base_path):
            relative = "/" + route.pattern[len(base_path) :]
            operations = paths.setdefault(relative, {})
            for method in route.methods:
                operations[method.lower()] = _operation(route, method)
    return {
        "swagger": "2.0",
        "info": {"title": TITLES.get(base_path, "Multicloud API"), "version": "1.0.0"},
        # NOTE: no trailing slash: clients join basePath and a path ("/vim_types").
        "basePath": base_path.rstrip("/"),
        "schemes": ["http", "https"],
        "consumes": ["application/json"],
        "produces": ["application/json"],
        "paths": paths,
        "definitions": {"Error": _ERROR_SCHEMA},
    }


def _operation(route, method: str) -> dict[str, Any]:
    return {
        "operationId": f"{route.name}_{method.lower()}",
        "summary": route.summary or route.name,
        "tags": [route.name.split("_", 1)[0]],
        "parameters": [
            {"name": name, "in": "path", "required": True, "type": "string"}
            for name in route.params
        ],
        "responses": {
            str(route.status): {"description": "success"},
            "default": {"description": "error", "schema": {"$ref": "#/definitions/Error"}},
        },
    }


@cache
def _document_response(base_path: str) -> Response:
    return constant(document(base_path))


def swagger_json(request: Request) -> Response:
    """GET {namespace}/v0|v1/swagger.json."""
    base_path = request.path.rstrip("/").rsplit("/", 1)[0] + "/"
    return _document_response(base_path)
