"""Property-based fuzz of the four Swagger documents against both frameworks (schemathesis).

Every operation of each document gets ``MAX_EXAMPLES`` generated requests
(path parameters, query, headers; Hypothesis explores edge values); the only
property is that nothing answers 5xx. Every other request of an operation under
a region is sent to a registered region instead of a random one, so handlers run
past the region lookup (its cloud lies outside the allow-list: nothing is ever
contacted). The figures are printed and kept in the README's testing section.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from multicloud.routing import APIS, swagger_url

pytestmark = pytest.mark.django_db(transaction=True)

MAX_EXAMPLES = 5
DOCUMENTS = tuple(swagger_url(*api) for api in APIS)


def _app(mode: str):
    if mode == "django":
        from multicloud.wsgi import application

        return application
    from pecan_app.app import make_app

    return make_app()


@pytest.fixture
def fuzz_settings(override_settings):
    # NOTE: nothing generated may reach a real host: no cloud address is allowed.
    override_settings(MULTICLOUD_CLOUD_ALLOWLIST="192.0.2.1/32", MULTICLOUD_CLOUD_TIMEOUT="2")


def _registered() -> dict[str, str]:
    """A region (again, if a generated DELETE removed it) whose cloud is never contacted."""
    from multicloud.vims.models import CloudRegion

    if not CloudRegion.objects.filter(cloud_owner="fuzz", cloud_region_id="R1").exists():
        region = CloudRegion(
            cloud_owner="fuzz",
            cloud_region_id="R1",
            cloud_type="openstack",
            identity_url="http://192.0.2.2:5000/v3",  # outside the allow-list
            username="admin",
            default_tenant="admin",
            discovery_status="done",
        )
        region.password = "fuzz-password"
        region.save()
    return {"vimid": "fuzz_R1", "owner": "fuzz", "region": "R1"}


@pytest.mark.parametrize("mode", ["django", "pecan"])
@pytest.mark.parametrize("document", DOCUMENTS)
def test_no_generated_request_gets_a_5xx(fuzz_settings, mode, document):
    schema = schemathesis.openapi.from_wsgi(document, _app(mode))
    failures, examples, deep, operations = [], [], [], 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        _fuzz(operation, examples, failures, deep)
    print(
        f"\nfuzz {mode} {document}: {operations} operations, {len(examples)} examples "
        f"({len(deep)} on a registered region), {len(failures)} answers >= 500"
    )
    assert operations > 0 and len(examples) >= operations and deep
    assert failures == []


def _fuzz(operation, examples: list, failures: list, deep: list) -> None:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=MAX_EXAMPLES,
        database=None,
        deadline=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    def run(case) -> None:
        params = case.path_parameters or {}
        if len(examples) % 2 and params.keys() & {"vimid", "owner"}:
            params.update({k: v for k, v in _registered().items() if k in params})
            deep.append(case.method)
        response = case.call()
        examples.append(response.status_code)
        if response.status_code >= 500:
            failures.append((case.method, case.formatted_path, response.status_code))

    run()
