"""The image commands' progress bar (tqdm): bytes, rate and ETA on stderr, only on a terminal."""

from __future__ import annotations

from typing import IO, Any

from tqdm import tqdm
from tqdm.utils import CallbackIOWrapper


def progress_bar(total: int | None, label: str, stream: IO[str]) -> tqdm:
    """A byte progress bar on ``stream``; silent when ``stream`` is not a terminal."""
    return tqdm(
        total=total,
        desc=label,
        file=stream,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        mininterval=0.1,
        disable=None,  # NOTE: None = off unless ``stream`` is a TTY (logs stay clean).
    )


def reading(handle: IO[bytes], bar: tqdm) -> Any:
    """``handle`` whose reads move ``bar``."""
    return CallbackIOWrapper(bar.update, handle, "read")
