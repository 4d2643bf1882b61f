"""Progress hooks.

A hook is any callable ``hook(stage: str, completed: int, total: int | None)``. The library calls
it as work advances; the CLI plugs in a rich progress bar, the web app a progress bar, a test a
recorder. A hook may raise :class:`twintake.errors.Cancelled` to stop the job cleanly.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Optional

from .errors import Cancelled

ProgressHook = Callable[[str, int, Optional[int]], None]

__all__ = ["ProgressHook", "Progress", "RecordingHook"]


class Progress:
    """Wraps an optional user hook and an optional cancel event for the library's own use."""

    def __init__(self, hook: ProgressHook | None = None, cancel: threading.Event | None = None):
        self._hook = hook
        self._cancel = cancel

    def __call__(self, stage: str, completed: int, total: int | None = None) -> None:
        if self._cancel is not None and self._cancel.is_set():
            raise Cancelled("cancelled by the user; no output was written")
        if self._hook is not None:
            self._hook(stage, completed, total)


class RecordingHook:
    """A hook that records every call as ``(stage, completed, total)``; handy in tests."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int, int | None]] = []

    def __call__(self, stage: str, completed: int, total: int | None = None) -> None:
        self.calls.append((stage, completed, total))

    @property
    def stages(self) -> list[str]:
        seen: list[str] = []
        for stage, _, _ in self.calls:
            if stage not in seen:
                seen.append(stage)
        return seen
