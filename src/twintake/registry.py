"""Backends registered by name, one registry per stage (face tracking, phone recognition, TTS,
voice conversion, enhancement...).

A registry maps a backend name to a factory. A factory may be given as a ``"module:attribute"``
string, imported on first use, so registering a heavy backend (torch, onnxruntime) costs nothing
at import time and a stage never imports the modules of backends it does not use::

    TRACKERS = Registry("face tracker")
    TRACKERS.register("mediapipe", "twintake.face.mediapipe:MediaPipeTracker")
    tracker = TRACKERS.create("mediapipe", max_faces=4)

A second backend plugs in with one ``register`` call from anywhere (a plug-in, a test), without
touching the pipeline.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Generic, TypeVar, Union

from .errors import BackendError

__all__ = ["Registry"]

T = TypeVar("T")
Factory = Union[Callable[..., T], str]


class Registry(Generic[T]):
    """Named factories of one stage's backends.

    Args:
        stage: what the backends do, for error messages (e.g. ``"face tracker"``).
    """

    def __init__(self, stage: str) -> None:
        self.stage = stage
        self._factories: dict[str, Factory] = {}

    def register(self, name: str, factory: Factory, *, replace: bool = False) -> None:
        """Register ``factory`` (a callable returning a backend, or a ``"module:attr"`` path to
        one) under ``name``.

        Raises:
            ValueError: ``name`` is taken and ``replace`` is False.
        """
        if name in self._factories and not replace:
            raise ValueError(f"a {self.stage} backend named {name!r} is already registered")
        self._factories[name] = factory

    def unregister(self, name: str) -> None:
        """Remove a backend (no error when absent)."""
        self._factories.pop(name, None)

    def names(self) -> list[str]:
        """Registered backend names, in registration order."""
        return list(self._factories)

    def __contains__(self, name: object) -> bool:
        return name in self._factories

    def factory(self, name: str) -> Callable[..., T]:
        """The factory of backend ``name`` (imported now if registered by path).

        Raises:
            BackendError: unknown name (the message lists the known ones), or the backend's
                module cannot be imported (a missing optional extra).
        """
        if name not in self._factories:
            raise BackendError(f"unknown {self.stage} {name!r}: choose one of {', '.join(self.names()) or '(none)'}")
        f = self._factories[name]
        if isinstance(f, str):
            module, _, attr = f.partition(":")
            try:
                f = getattr(importlib.import_module(module), attr)
            except ImportError as e:
                raise BackendError(f"the {self.stage} {name!r} cannot be loaded ({e}); install the extra "
                                   "it needs (see the README)") from None
            self._factories[name] = f
        return f

    def create(self, name: str, /, **kwargs) -> T:
        """A new backend ``name`` built with ``kwargs``.

        Raises:
            BackendError: see :meth:`factory`; and what the backend's constructor raises.
        """
        return self.factory(name)(**kwargs)
