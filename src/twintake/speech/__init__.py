"""Speech: phone recognition, loudness/VAD analysis, text-to-speech and voice cloning.

Heavy parts (onnxruntime, pyworld, espeak) are imported when first used.
"""

from __future__ import annotations

from .synthesize import SpeechPiece, synthesize, synthesize_stream

__all__ = ["synthesize", "synthesize_stream", "SpeechPiece"]
