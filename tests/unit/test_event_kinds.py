"""The one definition of event kinds, phases and formats, and what depends on it."""

from listener.notifications import FormatPolicy
from multicloud.conf import load
from multicloud.event_kinds import (
    DEFAULT_PHASES,
    DEFAULT_PREFER_FORMAT,
    NOVA_SETTING_FORMATS,
    PREFER_FORMATS,
    Format,
    Kind,
)
from multicloud.status.service import KIND_VM_STATES


def test_every_kind_has_its_vm_state_mapping():
    assert list(KIND_VM_STATES) == list(Kind)


def test_every_preferred_format_maps_to_a_nova_format():
    assert set(PREFER_FORMATS) <= set(NOVA_SETTING_FORMATS)
    assert set(NOVA_SETTING_FORMATS.values()) == set(Format)


def test_configuration_defaults_are_the_code_defaults(tmp_path):
    events = load({"MULTICLOUD_DATA_DIR": str(tmp_path)}).events
    assert events.prefer_format == DEFAULT_PREFER_FORMAT == "unversioned"
    assert FormatPolicy().prefer is NOVA_SETTING_FORMATS[events.prefer_format] is Format.LEGACY
    assert set(events.phases) == DEFAULT_PHASES
