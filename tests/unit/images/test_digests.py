"""One digest while an image is received; Glance's answer checked with it, or with the file."""

from __future__ import annotations

import hashlib

import pytest

from multicloud.exceptions import UpstreamError
from multicloud.images import service, staging

DATA = b"0123456789abcdef" * 4096


@pytest.fixture
def staged(override_settings, tmp_path, db):
    override_settings(MULTICLOUD_IMAGE_STAGING_DIR=str(tmp_path))
    staging._region_hash.clear()
    writer = staging.StagingWriter(len(DATA))
    writer.write_all([DATA[:10000], DATA[10000:]])
    yield writer.finish("x", "raw", "bare")
    staging._region_hash.clear()


def _glance(**changes):
    image = {
        "size": len(DATA),
        "os_hash_algo": "sha512",
        "os_hash_value": hashlib.sha512(DATA).hexdigest(),
        "checksum": hashlib.md5(DATA).hexdigest(),  # noqa: S324
    }
    return {**image, **changes}


def test_the_copy_records_one_digest_the_default_sha512(staged):
    assert (staged.hash_algo, staged.hash_value) == ("sha512", hashlib.sha512(DATA).hexdigest())
    service.verify(_glance(), staged)


def test_a_region_s_algorithm_is_learned_and_used_for_its_next_copies(staged):
    assert staging.hash_for("o_r") == "sha512"
    staging.learn_hash("o_r", "sha256")
    staging.learn_hash("o_r2", "no-such-algorithm")
    staging.learn_hash("o_r3", None)
    assert staging.hash_for("o_r") == "sha256"
    assert staging.hash_for("o_r2") == staging.hash_for("o_r3") == "sha512"
    writer = staging.StagingWriter(len(DATA), staging.hash_for("o_r"))
    writer.write(DATA)
    copy = writer.finish()
    assert (copy.hash_algo, copy.hash_value) == ("sha256", hashlib.sha256(DATA).hexdigest())


def test_another_algorithm_is_checked_by_reading_the_staged_file(staged):
    service.verify(
        _glance(os_hash_algo="sha3_256", os_hash_value=hashlib.sha3_256(DATA).hexdigest()), staged
    )
    with pytest.raises(UpstreamError, match="sha3_256 differs"):
        service.verify(_glance(os_hash_algo="sha3_256", os_hash_value="0" * 64), staged)


@pytest.mark.parametrize(
    "changes, problem",
    [
        ({"os_hash_value": "0" * 128}, "sha512 differs"),
        ({"size": len(DATA) - 1}, "size"),
        # NOTE: a Glance without multihash: its md5 checksum is checked (read from the file).
        ({"os_hash_algo": None, "os_hash_value": None, "checksum": "0" * 32}, "md5 differs"),
        # an algorithm hashlib does not know: the md5 checksum is what can be checked
        ({"os_hash_algo": "whirl", "os_hash_value": "ab", "checksum": "0" * 32}, "md5 differs"),
    ],
)
def test_a_differing_answer_is_a_502(staged, changes, problem):
    with pytest.raises(UpstreamError, match=problem):
        service.verify(_glance(**changes), staged)


def test_an_old_glance_s_matching_md5_passes(staged):
    service.verify(_glance(os_hash_algo=None, os_hash_value=None), staged)
