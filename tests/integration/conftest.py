"""Integration-test fixtures: images, RabbitMQ, the typed API's sandbox region.

The OpenStack sandbox's own fixtures (``sandbox``, ``admin_session``, ...) come from
tests/sandbox.py, a plugin of the whole suite.
"""

from __future__ import annotations

import contextlib

import pytest

from tests.integration import rabbit
from tests.integration.resources_helpers import V0, Cloud, add_region


@pytest.fixture
def image_conf(tmp_path, override_settings):
    """The image service's settings, its staging area in ``tmp_path``."""
    return override_settings(MULTICLOUD_IMAGE_STAGING_DIR=str(tmp_path / "staging")).images


@pytest.fixture
def glance(sandbox, admin_session):
    """A glanceclient on the admin project; deletes every image whose name it was told about."""
    import glanceclient

    client = glanceclient.Client("2", session=admin_session, region_name=sandbox.region)
    names: list[str] = []
    client.track = names.append
    yield client
    for name in names:
        for image in client.images.list(filters={"name": name}):
            client.images.delete(image["id"])


@pytest.fixture
def broker():
    """A private RabbitMQ vhost and listener user, removed afterwards."""
    with rabbit.private_broker() as private:
        yield private


BIG_FILE = 1 << 20


@pytest.fixture(autouse=True)
def _remove_big_temporary_files(request):
    """Image tests write 100-200 MiB files into tmp_path: delete them when the test ends.

    (pytest keeps the temporary directories of the last runs; small files stay for
    post-mortems, big ones would fill the disk.)
    """
    # NOTE: asked for before the test, so tmp_path is torn down after this fixture.
    tmp = request.getfixturevalue("tmp_path") if "tmp_path" in request.fixturenames else None
    yield
    if tmp is None:
        return
    for path in tmp.rglob("*"):
        with contextlib.suppress(OSError):
            if path.is_file() and path.stat().st_size >= BIG_FILE:
                path.unlink()


# --------------------------------------------------------------------------- the typed API


@pytest.fixture
def cloud(sandbox, admin_session):
    """Direct calls to the sandbox; removes what the test told it about."""
    helper = Cloud(admin_session, sandbox.region)
    yield helper
    helper.cleanup()


@pytest.fixture
def project(admin_session) -> str:
    """The admin project's id."""
    return admin_session.get_project_id()


@pytest.fixture
def typed(sandbox, transactional_db):
    """The v0 broker prefix of the sandbox region, with the admin project's name."""
    add_region(sandbox)
    return f"{V0}/{sandbox.admin.project_name}"
