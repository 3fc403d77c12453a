"""Event federation settings and which regions the listener serves."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from listener import regions
from multicloud.conf import ConfigError, load

URL = "rabbit://nova:s3cret@10.0.0.1:5672/nova"


def events(tmp_path, **env):
    return load({"MULTICLOUD_DATA_DIR": str(tmp_path), **env}).events


def test_the_defaults_listen_to_both_nova_topics_and_keep_completed_and_failed_actions(tmp_path):
    conf = events(tmp_path)
    assert conf.topics == ("notifications", "versioned_notifications")
    assert conf.exchange == "nova" and conf.prefer_format == "unversioned"
    assert conf.phases == ("END", "ERROR") and conf.default_states == ()
    assert conf.transport_url == "" and conf.mr_url == ""


def test_secrets_can_come_from_files_and_never_show_in_repr(tmp_path):
    (tmp_path / "url").write_text(URL + "\n")
    (tmp_path / "mr").write_text("mr-pass")
    conf = events(
        tmp_path,
        MULTICLOUD_EVENTS_TRANSPORT_URL_FILE=str(tmp_path / "url"),
        MULTICLOUD_EVENTS_CLOUD_OWNER="onap",
        MULTICLOUD_EVENTS_CLOUD_REGION_ID="R1",
        MULTICLOUD_MR_PASSWORD_FILE=str(tmp_path / "mr"),
    )
    assert conf.transport_url == URL and conf.mr_password == "mr-pass"
    assert "s3cret" not in repr(conf) and "mr-pass" not in repr(conf)


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"MULTICLOUD_EVENTS_TRANSPORT_URL": URL}, "needs MULTICLOUD_EVENTS_CLOUD_OWNER"),
        (
            {
                "MULTICLOUD_EVENTS_TRANSPORT_URL": "http://x",
                "MULTICLOUD_EVENTS_CLOUD_OWNER": "o",
                "MULTICLOUD_EVENTS_CLOUD_REGION_ID": "r",
            },
            "not an installed broker driver",
        ),
        (
            {
                "MULTICLOUD_EVENTS_TRANSPORT_URL": "rabbit://u:secret@h:abc/",
                "MULTICLOUD_EVENTS_CLOUD_OWNER": "o",
                "MULTICLOUD_EVENTS_CLOUD_REGION_ID": "r",
            },
            "bad port",
        ),
        ({"MULTICLOUD_MR_MAX_ATTEMPTS": "-1"}, "between 0 and"),
        ({"MULTICLOUD_EVENTS_PHASES": "END,LATER"}, "unknown LATER"),
        (
            {
                "MULTICLOUD_EVENTS_DEFAULT_STATES": "PAUSE,NAP",
                "MULTICLOUD_EVENTS_DEFAULT_TOPIC": "t",
            },
            "unknown NAP",
        ),
        ({"MULTICLOUD_EVENTS_DEFAULT_STATES": "PAUSE"}, "go together"),
        ({"MULTICLOUD_EVENTS_PREFER_FORMAT": "both"}, "must be one of"),
        ({"MULTICLOUD_MR_URL": "message-router:3904"}, "http:// or https://"),
        ({"MULTICLOUD_MR_BATCH_SIZE": "0"}, "between 1 and"),
        ({"MULTICLOUD_MR_RETRY_MAX": "soon"}, "number of seconds"),
    ],
)
def test_a_bad_events_setting_names_the_variable(tmp_path, env, fragment):
    with pytest.raises(ConfigError) as caught:
        events(tmp_path, **env)
    assert fragment in str(caught.value)


def test_lists_are_normalised(tmp_path):
    conf = events(
        tmp_path,
        MULTICLOUD_EVENTS_PHASES="start, end",
        MULTICLOUD_EVENTS_DEFAULT_STATES="pause,delete",
        MULTICLOUD_EVENTS_DEFAULT_TOPIC="t",
        MULTICLOUD_EVENTS_TOPICS="onap_multicloud",
    )
    assert conf.phases == ("START", "END") and conf.default_states == ("PAUSE", "DELETE")
    assert conf.topics == ("onap_multicloud",)


@dataclass
class Region:
    cloud_owner: str
    cloud_region_id: str
    notification_transport_url: str = field(repr=False)
    notification_topics: list = field(default_factory=list)
    notification_pool: str = ""

    @property
    def vim_id(self):
        return f"{self.cloud_owner}_{self.cloud_region_id}"


def test_targets_are_the_configured_cloud_and_the_registered_regions_with_a_transport(tmp_path):
    conf = events(
        tmp_path,
        MULTICLOUD_EVENTS_TRANSPORT_URL=URL,
        MULTICLOUD_EVENTS_CLOUD_OWNER="onap",
        MULTICLOUD_EVENTS_CLOUD_REGION_ID="R1",
    )
    registered = [
        Region("onap", "R1", "rabbit://other@h/v"),  # the configuration wins
        Region("onap", "R2", "rabbit://r2@h/v", ["onap_multicloud"], "my-pool"),
        Region("onap", "R3", ""),  # polled, not listened to
    ]
    found = regions.targets(conf, registered)
    assert [(t.vim_id, t.transport_url, t.topics, t.pool) for t in found] == [
        ("onap_R1", URL, ("notifications", "versioned_notifications"), "onap-multicloud-onap_R1"),
        ("onap_R2", "rabbit://r2@h/v", ("onap_multicloud",), "my-pool"),
    ]
    assert "s3cret" not in repr(found)


@pytest.mark.django_db
def test_registered_regions_come_from_the_registry(tmp_path):
    from multicloud.vims.models import CloudRegion

    region = CloudRegion(
        cloud_owner="onap",
        cloud_region_id="R9",
        cloud_type="openstack",
        identity_url="http://k/v3",
        username="u",
        default_tenant="t",
        notification_topics=["x"],
    )
    region.password = "p"
    region.notification_transport_url = "rabbit://a:b@h/v"
    region.save()
    (target,) = regions.targets(events(tmp_path))
    assert (target.vim_id, target.transport_url, target.topics) == (
        "onap_R9",
        "rabbit://a:b@h/v",
        ("x",),
    )


def test_the_listener_process_runs_on_native_threads_never_monkey_patched(tmp_path):
    import subprocess
    import sys

    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'multicloud.settings'; "
        "django.setup(); "
        "import listener.management.commands.run_listener, listener.runner, oslo_messaging; "
        "from listener.transport import oslo_config; oslo_config(8); "
        "import eventlet.patcher as p; "
        "print(p.is_monkey_patched('thread'), p.is_monkey_patched('socket'))"
    )
    done = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=regions.__file__.rsplit("/", 2)[0],
        env={"MULTICLOUD_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1].split() == ["False", "False"]
