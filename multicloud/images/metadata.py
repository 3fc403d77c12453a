"""Image metadata from a request (form fields, query parameters or JSON) and its shape."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from multicloud.exceptions import BadRequest

DISK_FORMATS = ("ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso", "ploop")
CONTAINER_FORMATS = ("ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed")
VISIBILITIES = ("public", "private", "shared", "community")
#: Glance's own image attributes: never user properties.
CORE_ATTRIBUTES = frozenset(
    "id name status size virtual_size disk_format container_format visibility checksum "
    "os_hash_algo os_hash_value created_at updated_at owner protected min_disk min_ram tags "
    "file schema self direct_url locations os_hidden stores".split()
)


@dataclass
class ImageMeta:
    """What a new Glance image is created with."""

    name: str
    disk_format: str
    container_format: str = "bare"
    visibility: str | None = None
    properties: dict[str, str] = field(default_factory=dict)

    def create_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "name": self.name,
            "disk_format": self.disk_format,
            "container_format": self.container_format,
            **self.properties,
        }
        if self.visibility:
            kwargs["visibility"] = self.visibility
        return kwargs


def parse_meta(values: Mapping[str, Any], filename: str | None = None) -> ImageMeta:
    """Validate ``name``/``imageType``/``containerFormat``/``visibility``/``properties``.

    ``filename`` (of an uploaded file) supplies a default name and disk format.
    """
    stem, ext = _split_filename(filename)
    name = _text(values, "name") or stem
    if not name:
        raise BadRequest("name is required (or upload a file with a file name)")
    disk_format = (_text(values, "imageType") or ext).lower()
    if disk_format not in DISK_FORMATS:
        raise BadRequest(
            f"invalid imageType {disk_format!r}: use one of {', '.join(DISK_FORMATS)}"
            if disk_format
            else "imageType (the disk format) is required"
        )
    container = (_text(values, "containerFormat") or "bare").lower()
    if container not in CONTAINER_FORMATS:
        raise BadRequest(
            f"invalid containerFormat {container!r}: use one of {', '.join(CONTAINER_FORMATS)}"
        )
    visibility = _text(values, "visibility") or None
    if visibility is not None and visibility not in VISIBILITIES:
        raise BadRequest(f"invalid visibility {visibility!r}: use one of {', '.join(VISIBILITIES)}")
    return ImageMeta(name, disk_format, container, visibility, _properties(values))


def _text(values: Mapping[str, Any], key: str) -> str:
    value = values.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadRequest(f"{key} must be a string")
    if len(value) > 255:
        raise BadRequest(f"{key} is longer than 255 characters")
    return value.strip()


def _split_filename(filename: str | None) -> tuple[str, str]:
    base = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    stem, dot, ext = base.rpartition(".")
    return (stem, ext.lower()) if dot and stem else (base, "")


def _properties(values: Mapping[str, Any]) -> dict[str, str]:
    raw = values.get("properties")
    if raw is None or raw == "":
        return {}
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise BadRequest("properties must be a JSON object") from None
    if not isinstance(raw, dict):
        raise BadRequest("properties must be a JSON object")
    properties = {}
    for key, value in raw.items():
        if key in CORE_ATTRIBUTES or key.startswith("os_glance"):
            raise BadRequest(f"properties may not set the image attribute {key!r}")
        if isinstance(value, bool):
            value = "true" if value else "false"
        if not isinstance(value, str | int | float):
            raise BadRequest(f"property {key!r} must be a string, number or boolean")
        properties[str(key)] = str(value)
    return properties


def shape(image: Mapping[str, Any], decoration: Mapping[str, Any]) -> dict[str, Any]:
    """The contract's image object (plus digests) with the region decoration."""
    return {
        "id": image.get("id"),
        "name": image.get("name"),
        "imageType": image.get("disk_format"),
        "status": image.get("status"),
        "size": image.get("size"),
        "containerFormat": image.get("container_format"),
        "visibility": image.get("visibility"),
        "properties": {
            k: v
            for k, v in image.items()
            if k not in CORE_ATTRIBUTES and not k.startswith("os_glance")
        },
        "checksum": image.get("checksum"),
        "os_hash_algo": image.get("os_hash_algo"),
        "os_hash_value": image.get("os_hash_value"),
        **decoration,
    }
