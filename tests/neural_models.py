"""Tiny randomly initialised checkpoints in the published file layouts, built by the tests (no
downloads): an XTTS-v2 folder (config.json, model.pth, vocab.json) and a Stable Diffusion
diffusers folder (unet, vae, text_encoder, tokenizer, scheduler, model_index.json)."""

from __future__ import annotations

import json
from pathlib import Path

ARABIC = [chr(c) for c in range(0x621, 0x64B)]


def build_tiny_xtts(folder: Path, dim: int = 64, layers: int = 1, heads: int = 2,
                    max_audio_tokens: int = 120, seed: int = 0) -> Path:
    """An XTTS-v2 folder with a 1-layer 64-wide GPT (the HiFi-GAN decoder and speaker encoder
    keep their real, fixed sizes), random weights; ``model.pth`` = ``{"model": state dict}``."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers

    from twintake.speech.tts.xtts import _import_torchaudio

    folder.mkdir(parents=True, exist_ok=True)
    vocab = {"[STOP]": 0, "[UNK]": 1, "[SPACE]": 2, "[START]": 3, "[en]": 4, "[ar]": 5}
    for c in list("abcdefghijklmnopqrstuvwxyz'.,!?-") + ARABIC:
        vocab.setdefault(c, len(vocab))
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.save(str(folder / "vocab.json"))
    _import_torchaudio()
    from TTS.tts.configs.xtts_config import XttsConfig
    from TTS.tts.layers.xtts.tokenizer import VoiceBpeTokenizer
    from TTS.tts.models.xtts import Xtts

    cfg = XttsConfig()
    a = cfg.model_args
    a.gpt_layers, a.gpt_n_model_channels, a.gpt_n_heads, a.decoder_input_dim = layers, dim, heads, dim
    a.gpt_use_perceiver_resampler = True  # as XTTS-v2
    a.gpt_max_audio_tokens = max_audio_tokens
    a.gpt_num_audio_tokens, a.gpt_start_audio_token, a.gpt_stop_audio_token = 1026, 1024, 1025
    cfg.languages = ["en", "ar"]
    (folder / "config.json").write_text(json.dumps(cfg.to_dict()))
    torch.manual_seed(seed)
    m = Xtts(cfg)
    m.tokenizer = VoiceBpeTokenizer(vocab_file=folder / "vocab.json")
    m.init_models()
    sd = {k: v for k, v in m.state_dict().items() if not k.startswith("gpt.gpt_inference.")}
    torch.save({"model": sd}, folder / "model.pth")
    return folder
