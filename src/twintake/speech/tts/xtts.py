"""XTTS-v2 from the user's own checkpoint folder (``--voice-backend xtts --checkpoint DIR``).

Optional: needs the ``neural`` extra (PyTorch CPU, the maintained ``coqui-tts`` package and
``torchaudio``); twintake downloads nothing. The folder is the published XTTS-v2 layout::

    config.json        XttsConfig ("model": "xtts")
    model.pth          {"model": state dict} (GPT + HiFi-GAN decoder + speaker encoder)
    vocab.json         the BPE tokenizer (``tokenizers`` JSON)
    speakers_xtts.pth  optional: the built-in speakers (``--tts-voice NAME``)
    dvae.pth, mel_stats.pth   training only; not needed here

XTTS clones zero-shot: the person's reference clip (decoded by twintake, the first 30 s) gives
the GPT conditioning latents and the decoder's speaker embedding; every sentence is then
generated autoregressively and decoded at 24 kHz. XTTS gives no phone timings, so each chunk's
phones are recognized from its audio (:func:`twintake.speech.phones.recognize_phones`), as for a
speech file. The weights are under the non-commercial CPML (``docs/licenses.md``).

Reference: Casanova et al., "XTTS: a Massively Multilingual Zero-Shot Text-to-Speech Model",
Interspeech 2024.
"""

from __future__ import annotations

import functools
import json
import logging
import sys
import threading
import types
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ...devices import check_device
from ...errors import BackendError, SpeechError, VoiceError
from .base import TTSChunk

__all__ = ["XttsSynthesizer", "check_xtts_folder", "load_xtts", "REQUIRED_FILES", "SAMPLE_RATE"]

log = logging.getLogger(__name__)

SAMPLE_RATE = 24000
#: Files every XTTS-v2 folder must hold for inference.
REQUIRED_FILES = ("config.json", "model.pth", "vocab.json")
_INSTALL = 'pip install "twintake[neural]"'
#: Reference audio used: XTTS conditions on up to 30 s (its speaker encoder) and 6 s (GPT).
MAX_REFERENCE_S = 30.0
MIN_REFERENCE_S = 3.0
#: Audio codes per second of XTTS's GPT (22050 Hz / code stride 1024).
_CODES_PER_S = 22050 / 1024
_lock = threading.Lock()


def _import_torchaudio():
    """``torchaudio``; its PyPI wheel for Linux is the CUDA build, whose native extension cannot
    load beside a CPU-only torch. XTTS inference only uses torchaudio's pure-PyTorch parts
    (``transforms.MelSpectrogram``, ``functional.resample``), so when the extension fails to
    load, torchaudio is imported with it marked unavailable (its own no-extension mode)."""
    if "torchaudio" in sys.modules:
        return sys.modules["torchaudio"]
    try:
        import torchaudio
        return torchaudio
    except ImportError:
        raise BackendError(f"the xtts voice backend needs torchaudio, which is not installed: {_INSTALL}") from None
    except OSError as e:
        for name in [m for m in sys.modules if m == "torchaudio" or m.startswith("torchaudio.")]:
            del sys.modules[name]
        log.info("torchaudio's native extension cannot load (%s); using its pure-PyTorch parts", e)
        ext = types.ModuleType("torchaudio._extension")
        ext._IS_TORCHAUDIO_EXT_AVAILABLE = False
        ext._IS_ALIGN_AVAILABLE = False

        def fail_if_no_align(func):
            def raiser(*_a, **_k):
                raise RuntimeError("torchaudio's alignment extension is not available")
            return raiser

        ext.fail_if_no_align = fail_if_no_align
        sys.modules["torchaudio._extension"] = ext
        import torchaudio
        return torchaudio


def check_xtts_folder(path: str | Path) -> Path:
    """Check an XTTS-v2 checkpoint folder without loading it (cheap).

    Raises:
        BackendError: not an existing folder, a required file missing or empty, a
            ``config.json`` that is not JSON or not an XTTS config (names the model it is).
    """
    p = Path(path)
    if not p.exists():
        raise BackendError(f"XTTS checkpoint folder {p} not found: give the folder holding the XTTS-v2 "
                           f"{', '.join(REQUIRED_FILES)}")
    if not p.is_dir():
        raise BackendError(f"{p} is a file: --checkpoint for --voice-backend xtts is the XTTS-v2 folder "
                           f"(holding {', '.join(REQUIRED_FILES)})")
    for name in REQUIRED_FILES:
        f = p / name
        if not f.is_file() or f.stat().st_size == 0:
            raise BackendError(f"{f} is {'empty' if f.is_file() else 'missing'}: an XTTS-v2 folder holds "
                               f"{', '.join(REQUIRED_FILES)}")
    try:
        cfg = json.loads((p / "config.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise BackendError(f"{p / 'config.json'} is not a readable JSON config ({e}); expected XTTS-v2's") from None
    model = cfg.get("model") if isinstance(cfg, dict) else None
    if model != "xtts":
        raise BackendError(f"{p / 'config.json'} describes a {model or 'unknown'!s} model, not XTTS-v2 "
                           "(expected \"model\": \"xtts\")")
    return p


def _device(device: str) -> str:
    """``device`` checked against this machine (:func:`twintake.devices.check_device`)."""
    return check_device(device)


def _read_state(model_path: Path) -> dict:
    """The state dict of ``model.pth`` (``{"model": ...}``, an older pickled config allowed),
    read without rewriting the file (coqui-tts's own loader may re-save it in place)."""
    import torch
    from TTS.tts.models.xtts import _legacy_safe_globals

    try:
        with _legacy_safe_globals():
            ckpt = torch.load(model_path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - truncated zip, not a torch file, foreign pickle
        raise BackendError(f"{model_path} cannot be read as a PyTorch checkpoint ({type(e).__name__}: "
                           f"{str(e).splitlines()[0][:160] if str(e) else 'damaged'}); expected XTTS-v2's "
                           "model.pth, complete") from None
    state = ckpt.get("model") if isinstance(ckpt, dict) else None
    if not isinstance(state, dict) or not state:
        raise BackendError(f"{model_path} holds no XTTS state dict (expected a dict with a \"model\" entry)")
    for key in list(state):  # the coqui trainer's prefix, and training-only parts
        if key.startswith("xtts."):
            state[key[5:]] = state.pop(key)
    return {k: v for k, v in state.items()
            if k.split(".")[0] not in ("torch_mel_spectrogram_style_encoder", "torch_mel_spectrogram_dvae", "dvae")}


def _check_state(model, state: dict, model_path: Path) -> None:
    """Raise BackendError naming the first missing/unexpected/wrong-shaped tensor."""
    own = model.state_dict()
    gpt_inference = {k for k in own if k.startswith("gpt.gpt_inference.")}
    missing = [k for k in own if k not in state and k not in gpt_inference and k != "mel_stats"]
    extra = [k for k in state if k not in own]
    wrong = [(k, tuple(state[k].shape), tuple(own[k].shape)) for k in state
             if k in own and hasattr(state[k], "shape") and tuple(state[k].shape) != tuple(own[k].shape)]
    if wrong:
        k, got, want = wrong[0]
        raise BackendError(f"{model_path} does not match its config.json: {k} has shape {got}, the XTTS-v2 "
                           f"config expects {want} ({len(wrong)} tensor(s) differ)")
    if missing or extra:
        raise BackendError(f"{model_path} is not an XTTS-v2 checkpoint of this config: "
                           f"{len(missing)} tensor(s) missing (e.g. {missing[:1]}), {len(extra)} unexpected "
                           f"(e.g. {extra[:1]})")


@functools.lru_cache(maxsize=2)
def load_xtts(folder: str, device: str = "cpu"):
    """The XTTS model of a checkpoint folder, in eval mode on ``device`` (cached).

    Raises:
        BackendError: see :func:`check_xtts_folder`; the missing extra; CUDA without a GPU; a
            truncated ``model.pth`` or one whose tensors do not fit ``config.json``; a
            ``vocab.json`` that is not a tokenizer.
    """
    p = check_xtts_folder(folder)
    try:
        import torch
    except ImportError:
        raise BackendError(f"the xtts voice backend needs PyTorch, which is not installed: {_INSTALL}") from None
    device = _device(device)
    _import_torchaudio()
    try:
        from TTS.tts.configs.xtts_config import XttsConfig
        from TTS.tts.layers.xtts.tokenizer import VoiceBpeTokenizer
        from TTS.tts.layers.xtts.xtts_manager import SpeakerManager
        from TTS.tts.models.xtts import Xtts
    except ImportError as e:
        raise BackendError(f"the xtts voice backend needs coqui-tts ({e}): {_INSTALL}") from None
    config = XttsConfig()
    try:
        config.load_json(str(p / "config.json"))
    except Exception as e:  # noqa: BLE001 - coqpit raises several kinds
        raise BackendError(f"{p / 'config.json'} is not a valid XTTS-v2 config ({e})") from None
    try:
        tokenizer = VoiceBpeTokenizer(vocab_file=p / "vocab.json")
        for tok in ("[START]", "[STOP]"):
            if tokenizer.tokenizer.token_to_id(tok) is None:
                raise ValueError(f"no {tok} token")
    except Exception as e:  # noqa: BLE001
        raise BackendError(f"{p / 'vocab.json'} is not XTTS-v2's BPE vocabulary ({e})") from None
    model = Xtts(config)
    model.tokenizer = tokenizer
    model.init_models()
    state = _read_state(p / "model.pth")
    _check_state(model, state, p / "model.pth")
    model.load_state_dict(state, strict=False)
    speakers = p / "speakers_xtts.pth"
    model.speaker_manager = SpeakerManager(str(speakers)) if speakers.is_file() else None
    model.hifigan_decoder.eval()
    model.gpt.init_gpt_for_inference(kv_cache=model.args.kv_cache, use_deepspeed=False)
    model.gpt.eval()
    model.eval()
    model.to(torch.device(device))
    return model


def _reference_audio(path: str | Path) -> np.ndarray:
    """(S,) float32 mono at 22050 Hz: the first :data:`MAX_REFERENCE_S` of a reference clip."""
    from ..voice.profile import decode_audio

    try:
        x = decode_audio(path, 22050)
    except VoiceError:
        raise
    except Exception as e:  # noqa: BLE001 - any unreadable file is the same problem
        raise VoiceError(f"cannot read the voice reference {path} ({e})") from None
    x = np.asarray(x, np.float32)[: int(MAX_REFERENCE_S * 22050)]
    loud = np.abs(x) > 0.01
    if x.size < MIN_REFERENCE_S * 22050 or loud.mean() < 0.05:
        raise VoiceError(f"the voice reference {path} has under {MIN_REFERENCE_S:.0f} s of audible speech; "
                         "XTTS needs a clip of 6-30 s of the person speaking")
    return x


class XttsSynthesizer:
    """The ``xtts`` synthesizer: XTTS-v2 from a local checkpoint folder, cloning ``reference``.

    Args:
        checkpoint: the XTTS-v2 folder (see the module docstring).
        reference: the person's voice clip (any audio/video); None = a built-in speaker of
            ``speakers_xtts.pth`` named by ``voice`` in :meth:`chunks`.
        device: ``"cpu"`` or ``"cuda"``.
        seed: sampling seed (each sentence is generated from it: the same text gives the same audio).
    Raises:
        BackendError, VoiceError: the folder, the extra, the device, or the reference is unusable
            (all checked here, before any synthesis).
    """

    languages = ("en", "ar")

    def __init__(self, checkpoint: str | Path, reference: str | Path | None = None, device: str = "cpu",
                 seed: int = 0) -> None:
        import torch

        self.model = load_xtts(str(Path(checkpoint).resolve()), device)
        self.seed = int(seed)
        self.latents = None
        if reference is not None:
            audio = torch.from_numpy(_reference_audio(reference))[None]
            with _lock, torch.inference_mode():
                gpt_cond = self.model.get_gpt_cond_latents(audio, 22050, length=6, chunk_length=6)
                spk = self.model.get_speaker_embedding(audio, 22050)
            self.latents = (gpt_cond, spk)

    def _voice(self, voice: str | None):
        if self.latents is not None and voice is None:
            return self.latents
        speakers = self.model.speaker_manager.speakers if self.model.speaker_manager is not None else {}
        if voice is None:
            raise VoiceError("XTTS needs the person's voice: give a voice reference clip (--voice CLIP)")
        if voice not in speakers:
            names = ", ".join(list(speakers)[:8]) or "none in this checkpoint"
            raise SpeechError(f"unknown XTTS speaker {voice!r}: built-in speakers are {names}")
        s = speakers[voice]
        return s["gpt_cond_latent"], s["speaker_embedding"]

    def chunks(self, sentences: list[str], lang: str, voice: str | None = None,
               speed: float = 1.0) -> Iterator[TTSChunk]:
        """One :class:`TTSChunk` per sentence (24 kHz; phones recognized from the audio).

        The autoregressive generation is capped at about 1 s + 0.12 s per character (the
        checkpoint's own limit applies too), so a model that fails to stop cannot run on.
        """
        import torch

        from ..input import resample
        from ..phones import recognize_phones

        if lang not in self.languages:
            raise SpeechError(f"the xtts backend speaks {', '.join(self.languages)} here, not {lang!r}")
        gpt_cond, spk = self._voice(voice)
        for sentence in sentences:
            if not sentence.strip():
                continue
            cap = int(np.ceil((1.0 + 0.12 * len(sentence)) * _CODES_PER_S / max(float(speed), 0.5)))
            with _lock, torch.inference_mode():
                torch.manual_seed(self.seed)
                out = self.model.inference(sentence, lang, gpt_cond, spk, speed=float(speed),
                                           temperature=self.model.config.temperature,
                                           max_new_tokens=min(cap, self.model.args.gpt_max_audio_tokens))
            wav = np.clip(np.asarray(out["wav"], np.float32).reshape(-1), -1.0, 1.0)
            phones = recognize_phones(resample(wav, SAMPLE_RATE, 16000), 16000) if wav.size else []
            yield TTSChunk(wav, SAMPLE_RATE, phones, sentence, lang)
