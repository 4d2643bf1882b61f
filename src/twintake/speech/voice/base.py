"""The voice-conversion stage: a protocol and its registered backends.

    converter = CONVERTERS.create("world")
    converted = converter.convert([samples], 24000, profile)   # timing kept

A second backend (e.g. a neural converter from a local checkpoint) registers itself with
``CONVERTERS.register("name", "module:Class")`` and is chosen by name, without touching the
pipeline.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from ...registry import Registry

__all__ = ["VoiceConverter", "CONVERTERS"]


@runtime_checkable
class VoiceConverter(Protocol):
    """Turns speech into a reference speaker's voice without changing its timing.

    Attributes:
        name: the backend's registered name.
    """

    name: str

    def convert(self, chunks: Sequence[np.ndarray], rate: int, profile, **options) -> list[np.ndarray]:
        """Convert the pieces ``chunks`` ((S_i,) float32 mono at ``rate`` Hz) of one utterance to
        the voice of ``profile`` (a :class:`~twintake.speech.voice.VoiceProfile`); returns arrays
        of the same lengths and rate.

        Raises:
            BackendError: the backend's packages are missing.
        """
        ...


#: Voice-conversion backends by name.
CONVERTERS: Registry[VoiceConverter] = Registry("voice converter")
CONVERTERS.register("world", "twintake.speech.voice.convert:WorldConverter")
