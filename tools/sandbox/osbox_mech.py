"""An ML2 mechanism driver that binds every port, for the sandbox's agentless Neutron.

Without agents no real mechanism driver (openvswitch, linuxbridge) binds a port, and
Nova refuses to boot a server on an unbound port. This driver binds the first segment
of any port that has a host with VIF type ``ovs`` and marks the port ACTIVE; Nova's
fake virt driver plugs nothing, so nothing on this machine changes.

The start script copies this file and an entry point (``osbox``, group
``neutron.ml2.mechanism_drivers``) into ``$STATE/neutron/plugins`` and puts that
directory on Neutron's Python path (``tools/sandbox/conf/neutron-uwsgi.ini``).
"""

from neutron_lib import constants
from neutron_lib.api.definitions import portbindings
from neutron_lib.plugins.ml2 import api

VIF_DETAILS = {portbindings.CAP_PORT_FILTER: True, portbindings.OVS_HYBRID_PLUG: False}


class OsboxMechanismDriver(api.MechanismDriver):
    """Binds ports without an agent (VIF type ``ovs``, status ACTIVE)."""

    def initialize(self):
        """Nothing to set up: no agents, no backend."""

    def bind_port(self, context):
        """Bind the first segment offered; every network type is fine here."""
        for segment in context.segments_to_bind:
            context.set_binding(
                segment[api.ID],
                portbindings.VIF_TYPE_OVS,
                VIF_DETAILS,
                status=constants.PORT_STATUS_ACTIVE,
            )
            return

    @property
    def connectivity(self):
        return portbindings.CONNECTIVITY_L2
