"""What the training scripts share: every talking video of a manifest, prepared and turned into
training data, for leave-one-video-out fits (``train_opening.py``, ``train_placement.py``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from twintake.evaluate.commands import resolve_suite


def gather(manifest: Path, video_data: Callable, max_seconds: float) -> dict:
    """``{video stem: video_data(path, max_seconds)}`` for the manifest's talking videos (rows
    whose ``kind`` is ``talking_video``), printing each video's frame count (the length of the
    data's second item)."""
    data = {}
    for v in resolve_suite(manifest):
        data[v.stem] = video_data(v, max_seconds)
        print(f"{v.stem}: {len(data[v.stem][1])} frames", flush=True)
    return data
