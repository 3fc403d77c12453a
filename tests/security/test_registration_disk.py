"""M2: a refused registration leaves nothing on disk; ssl-cacert is capped and parsed as PEM."""

from __future__ import annotations

import datetime
import json

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from multicloud.conf import get_settings
from tests.security.fakes import region_body
from tests.servers import free_port

pytestmark = pytest.mark.django_db

PATH = "/api/multicloud/v0/Owner_Disk/registry"


def _pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ca.example")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _register(api, cacert: str):
    body = region_body(f"https://127.0.0.1:{free_port()}/v3")
    body["esr-system-info-list"]["esr-system-info"][0]["ssl-cacert"] = cacert
    return api.request("POST", PATH, json.dumps(body).encode())


def _cacerts() -> set[str]:
    folder = get_settings().data_dir / "cacerts"
    return {p.name for p in folder.glob("*")} if folder.exists() else set()


def test_a_refused_registration_writes_no_ca_file(api):
    before = _cacerts()
    answer = _register(api, _pem())
    assert answer.status == 400
    assert _cacerts() == before


@pytest.mark.parametrize(
    "cacert",
    [
        "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n",
        "-----BEGIN CERTIFICATE-----\n" + "A" * (1 << 20) + "\n-----END CERTIFICATE-----\n",
    ],
    ids=["not-pem", "1-mib"],
)
def test_a_fake_or_huge_ca_is_400_before_anything(api, cacert):
    before = _cacerts()
    answer = _register(api, cacert)
    assert answer.status == 400
    assert "ssl-cacert" in answer.json()["error"]
    assert _cacerts() == before
