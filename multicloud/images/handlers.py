"""HTTP handlers of the image service (thin: parse, call the service, shape)."""

from __future__ import annotations

from multicloud import auth, metrics
from multicloud.exceptions import BadRequest
from multicloud.http import Request, Response, json_response
from multicloud.images import download as downloads
from multicloud.images import fetch, service, staging
from multicloud.vims.service import region_of

OCTET_STREAM = "application/octet-stream"


def _target(request: Request) -> service.Target:
    return service.connect(region_of(request), request.params["tenantid"])


PUBLISHED = ("public", "community")


def _check_visibility(request: Request, visibility) -> None:
    """Only ``image:publicize`` may share an image with every project."""
    if visibility in PUBLISHED:
        auth.require(request, "image:publicize")


def upload(request: Request) -> Response:
    """POST .../images/file: multipart, raw body (metadata in the query) or a staged source."""
    target = _target(request)
    content_type = request.headers.get("content-type", "")
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind == "application/json":
        body = request.json_object()
        _check_visibility(request, body.get("visibility"))
        result = service.upload_json(target, body)
    elif kind == "multipart/form-data":
        result = service.upload_form(
            target,
            metrics.CountingReader(request.stream),
            content_type,
            request.content_length,
            lambda meta: _check_visibility(request, meta.visibility),
        )
    else:
        values = {k: request.query_one(k) for k in service.META_KEYS}
        _check_visibility(request, values.get("visibility"))
        result = service.upload_raw(
            target,
            metrics.CountingReader(request.stream),
            request.content_length,
            values,
            request.query_one("filename"),
        )
    return json_response({**result, "returnCode": 1}, status=201)


def download(request: Request) -> Response:
    """GET .../images/file/{imageid}: the bytes (Range → 206)."""
    answer = downloads.download(
        _target(request),
        request.params["imageid"],
        request.headers.get("range"),
        head=request.method == "HEAD",
    )
    return Response(
        status=answer.status,
        stream=None if answer.chunks is None else metrics.count_image_bytes("out", answer.chunks),
        content_type=OCTET_STREAM,
        headers=[("Content-Type", OCTET_STREAM), *answer.headers],
    )


def export(request: Request) -> Response:
    """POST .../images/file/{imageid} {"imagePath": dir}: write it inside the export dir."""
    body = request.json_object()
    path = body.get("imagePath", body.get("imagepath"))
    staging_conf = staging.conf()
    downloads.export_path(staging_conf.export_dir, path)  # 403 before touching the cloud
    return json_response(downloads.export(_target(request), request.params["imageid"], path))


def list_images(request: Request) -> Response:
    """GET .../images[?name=&limit=&marker=]."""
    limit = request.query_one("limit")
    if limit is not None and not (limit.isdigit() and 1 <= int(limit) <= 1000):
        raise BadRequest("limit must be an integer between 1 and 1000")
    return json_response(
        service.list_images(
            _target(request),
            request.query_one("name"),
            int(limit) if limit else None,
            request.query_one("marker"),
        )
    )


def create_from_url(request: Request) -> Response:
    """POST .../images {"name","imagePath": URL,...}: 200 if the name exists, else 202."""
    body = request.json_object()
    _check_visibility(request, body.get("visibility"))
    image, created = fetch.create_from_url(body, lambda: _target(request))
    if not created:
        return json_response({**image, "returnCode": 0})
    return json_response(
        {**image, "returnCode": 1},
        status=202,
        headers=[("Location", f"{request.path.rstrip('/')}/{image['id']}")],
    )


def get_image(request: Request) -> Response:
    return json_response(service.get_image(_target(request), request.params["imageid"]))


def delete_image(request: Request) -> Response:
    service.delete_image(_target(request), request.params["imageid"])
    return Response(status=204, content_type=None)
