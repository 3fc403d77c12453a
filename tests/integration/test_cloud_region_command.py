"""manage.py cloud_region against the sandbox."""

import json

import pytest
from django.core.management import CommandError, call_command

from multicloud.vims.models import CloudRegion
from tests.integration.regions import region_body

pytestmark = [pytest.mark.sandbox, pytest.mark.django_db(transaction=True)]


def test_a_region_is_registered_discovered_and_removed_from_the_shell(sandbox, tmp_path, capsys):
    body = tmp_path / "region.json"
    body.write_text(json.dumps(region_body(sandbox)))
    call_command("cloud_region", "register", "osbox", "RegionOne", str(body), "--wait")
    shown = json.loads(capsys.readouterr().out)
    assert shown["registry"]["status"] == "done"
    assert sandbox.admin.password not in json.dumps(shown)
    call_command("cloud_region", "list")
    assert "osbox_RegionOne\topenstack\tdone" in capsys.readouterr().out
    call_command("cloud_region", "unregister", "osbox", "RegionOne")
    assert not CloudRegion.objects.exists()


def test_a_refused_registration_is_a_command_error(sandbox, tmp_path):
    body = tmp_path / "region.json"
    body.write_text(json.dumps(region_body(sandbox, password="nope")))
    with pytest.raises(CommandError, match="rejected the credentials"):
        call_command("cloud_region", "register", "osbox", "RegionOne", str(body))
