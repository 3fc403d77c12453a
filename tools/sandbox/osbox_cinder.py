"""A Cinder volume driver that keeps each volume as a sparse file, for the sandbox.

The sandbox machine's kernel has no device-mapper, so the LVM driver cannot run, and
there is no storage array. Volumes therefore live as sparse files
``<osbox_volume_dir>/volume-<id>``; snapshots as ``snapshot-<id>``. The bytes are real:
a volume made from a raw image holds the image's data (``clone_image``). Attaching hands
Nova a ``local`` connection (the file's path); Nova's fake virt driver only records it.

Loaded by cinder-volume as ``volume_driver = osbox_cinder.OsboxFileDriver``
(``tools/sandbox/`` is on its Python path; ``tools/sandbox/conf/cinder.conf``).
"""

import os
import shutil

from cinder import exception
from cinder.volume import configuration, driver
from oslo_config import cfg
from oslo_log import log as logging

LOG = logging.getLogger(__name__)
GiB = 1024**3

OPTS = [
    cfg.StrOpt("osbox_volume_dir", help="Directory holding the volume files."),
    cfg.IntOpt("osbox_capacity_gb", default=20, help="Capacity reported to the scheduler."),
]
cfg.CONF.register_opts(OPTS, group=configuration.SHARED_CONF_GROUP)


class OsboxFileDriver(driver.VolumeDriver):
    """Volumes as sparse files in one directory; ``local`` connections."""

    VERSION = "1.0.0"
    CI_WIKI_NAME = "none"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.configuration.append_config_values(OPTS)
        self.backend_name = self.configuration.safe_get("volume_backend_name") or "osbox"

    # ------------------------------------------------------------ paths and setup
    def _dir(self):
        return self.configuration.osbox_volume_dir

    def _path(self, kind, obj_id):
        return os.path.join(self._dir(), f"{kind}-{obj_id}")

    def do_setup(self, context):
        os.makedirs(self._dir(), exist_ok=True)

    def check_for_setup_error(self):
        if not self._dir() or not os.access(self._dir(), os.W_OK):
            raise exception.VolumeBackendAPIException(
                data=f"osbox_volume_dir {self._dir()!r} is not a writable directory"
            )

    def _allocated_gb(self):
        names = [n for n in os.listdir(self._dir()) if n.startswith("volume-")]
        return sum(os.path.getsize(os.path.join(self._dir(), n)) for n in names) // GiB

    def _update_volume_stats(self):
        total = self.configuration.osbox_capacity_gb
        self._stats = {
            "volume_backend_name": self.backend_name,
            "vendor_name": "Multicloud sandbox",
            "driver_version": self.VERSION,
            "storage_protocol": "local",
            "total_capacity_gb": total,
            "free_capacity_gb": max(total - self._allocated_gb(), 0),
            "reserved_percentage": 0,
            "QoS_support": False,
            "thin_provisioning_support": False,
            "thick_provisioning_support": True,
            "multiattach": False,
        }

    # ------------------------------------------------------------ volumes
    def _make(self, path, size_gb):
        with open(path, "xb") as f:
            f.truncate(size_gb * GiB)

    def create_volume(self, volume):
        self._make(self._path("volume", volume.id), volume.size)

    def delete_volume(self, volume):
        _remove(self._path("volume", volume.id))

    def extend_volume(self, volume, new_size):
        os.truncate(self._path("volume", volume.id), new_size * GiB)

    def _copy(self, src, dst, size_gb):
        shutil.copyfile(src, dst)
        os.truncate(dst, size_gb * GiB)

    def create_cloned_volume(self, volume, src_vref):
        self._copy(self._path("volume", src_vref.id), self._path("volume", volume.id), volume.size)

    def create_snapshot(self, snapshot):
        src = self._path("volume", snapshot.volume_id)
        self._copy(src, self._path("snapshot", snapshot.id), snapshot.volume_size)

    def delete_snapshot(self, snapshot):
        _remove(self._path("snapshot", snapshot.id))

    def create_volume_from_snapshot(self, volume, snapshot):
        src = self._path("snapshot", snapshot.id)
        self._copy(src, self._path("volume", volume.id), volume.size)

    def clone_image(self, context, volume, image_location, image_meta, image_service):
        """Write a raw image's bytes straight into the volume file.

        Cinder's own image path inspects images with qemu-img, which this machine lacks;
        taking raw images here skips it. Other formats return "not cloned", and Cinder's
        generic path then fails with the reason in cinder-volume.log.
        """
        if image_meta.get("disk_format") != "raw":
            return None, False
        if (image_meta.get("size") or 0) > volume.size * GiB:
            raise exception.ImageTooBig(image_id=image_meta["id"], reason="larger than the volume")
        path = self._path("volume", volume.id)
        self._make(path, volume.size)
        with open(path, "r+b") as f:
            image_service.download(context, image_meta["id"], data=f)
        return None, True

    # ------------------------------------------------------------ exports and attachments
    def create_export(self, context, volume, connector):
        return None

    def ensure_export(self, context, volume):
        return None

    def remove_export(self, context, volume):
        return None

    def initialize_connection(self, volume, connector):
        """A ``local`` connection: the volume file's path (os-brick's local connector)."""
        path = self._path("volume", volume.id)
        return {"driver_volume_type": "local", "data": {"device_path": path}}

    def terminate_connection(self, volume, connector, **kwargs):
        return None


def _remove(path):
    try:
        os.remove(path)
    except FileNotFoundError:
        LOG.info("%s was already gone", path)
