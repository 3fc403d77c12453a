"""Start-up migrations are serialized across replicas on PostgreSQL (an advisory lock)."""

from __future__ import annotations

import time

import psycopg
import pytest
import requests

from multicloud.launch import MIGRATION_LOCK
from tests.missing import missing
from tests.servers import READY_PATH, Service

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
NAME = "mc_security_migration_lock"


@pytest.fixture
def database():
    try:
        admin = psycopg.connect(ADMIN, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        missing(f"PostgreSQL on 127.0.0.1:5432 is not running: {exc}")
    with admin:
        admin.execute(f"DROP DATABASE IF EXISTS {NAME} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {NAME}")
        yield f"postgresql://postgres@127.0.0.1:5432/{NAME}"
        admin.execute(f"DROP DATABASE IF EXISTS {NAME} WITH (FORCE)")


def test_a_replica_waits_while_another_migrates(tmp_path, database):
    holder = psycopg.connect(database, autocommit=True)
    holder.execute("SELECT pg_advisory_lock(%s)", [MIGRATION_LOCK])
    svc = Service(tmp_path, WEB_FRAMEWORK="pecan", DATABASE_URL=database, MULTICLOUD_WORKERS="1")
    try:
        time.sleep(6)
        with pytest.raises(requests.RequestException):
            requests.get(svc.url + READY_PATH, timeout=2)
        assert svc.proc.poll() is None
        holder.execute("SELECT pg_advisory_unlock(%s)", [MIGRATION_LOCK])
        svc.wait_ready(timeout=90)
    finally:
        holder.close()
        svc.stop()
