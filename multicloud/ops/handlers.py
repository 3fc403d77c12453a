"""GET /metrics, /api/multicloud/v0/metrics, /api/multicloud/v0/docs[/asset]."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from multicloud import metrics
from multicloud.exceptions import NotFound
from multicloud.http import Request, Response
from multicloud.routing import APIS, swagger_url

_TYPES = {
    ".js": "application/javascript",
    ".css": "text/css",
    ".png": "image/png",
    ".html": "text/html; charset=utf-8",
    ".map": "application/json",
}
_INDEX = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Multicloud API</title>
<link rel="stylesheet" href="{base}/swagger-ui.css">
<link rel="icon" type="image/png" href="{base}/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{base}/swagger-ui-bundle.js"></script>
<script src="{base}/swagger-ui-standalone-preset.js"></script>
<script>
window.ui = SwaggerUIBundle({{
  urls: {urls},
  dom_id: "#swagger-ui",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
  layout: "StandaloneLayout",
  validatorUrl: null
}});
</script>
</body>
</html>
"""


def metrics_text(request: Request) -> Response:
    """Prometheus text exposition of every worker's samples."""
    body, content_type = metrics.exposition()
    return Response(body=body, content_type=content_type, headers=[("Cache-Control", "no-store")])


@cache
def _assets_dir() -> Path:
    from swagger_ui_bundle import swagger_ui_path

    return Path(swagger_ui_path)


@cache
def _index(base: str) -> bytes:
    import json

    urls = json.dumps([{"name": title, "url": swagger_url(*api)} for api, title in APIS.items()])
    return _INDEX.format(base=base, urls=urls).encode()


def docs(request: Request) -> Response:
    """The Swagger UI page over the generated Swagger documents (assets served here)."""
    base = request.path.rstrip("/")
    return Response(body=_index(base), content_type=_TYPES[".html"])


@cache
def _asset(name: str) -> tuple[bytes, str]:
    path = _assets_dir() / name
    suffix = path.suffix.lower()
    if name.startswith(".") or suffix not in _TYPES or suffix == ".html" or not path.is_file():
        raise NotFound(f"no such docs asset: {name}")
    return path.read_bytes(), _TYPES[suffix]


def docs_asset(request: Request) -> Response:
    """One file of the Swagger UI distribution (a PyPI package), cached for a day."""
    body, content_type = _asset(request.params["asset"])
    return Response(
        body=body, content_type=content_type, headers=[("Cache-Control", "max-age=86400")]
    )
