"""The Wav2Lip lip-sync backend (``--lipsync-backend wav2lip``), end to end with a tiny randomly
initialised generator of the published layout that the test builds and saves like the published
checkpoints (``{"state_dict": {"module.<name>": tensor}}`` plus training counters): no
downloads, the same loading code users hit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

torch = pytest.importorskip("torch")

from twintake.cli import app  # noqa: E402
from twintake.errors import BackendError  # noqa: E402
from twintake.options import LipsyncOptions  # noqa: E402
from twintake.render.neural import wav2lip as W  # noqa: E402
from twintake.render.neural.wav2lip_arch import REAL_CONFIG, Wav2Lip, Wav2LipConfig, config_from_state_dict  # noqa: E402

TINY = Wav2LipConfig(face=(4, 4, 8, 8, 8, 16, 16), audio=(4, 8, 8, 8, 16), decoder=(16, 16, 16, 8, 8, 8, 8), out=4)


def save_like_published(net, path: Path) -> Path:
    """A checkpoint in the published layout: DataParallel's ``module.`` prefixes under
    ``state_dict``, with the counters the training script stores."""
    sd = {f"module.{k}": v for k, v in net.state_dict().items()}
    torch.save({"state_dict": sd, "global_step": 1, "global_epoch": 1}, path)
    return path


@pytest.fixture(scope="module")
def tiny_ckpt(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    net = Wav2Lip(TINY)
    for m in net.modules():  # trained-looking batch-norm statistics
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.normal_(0, 0.1)
            m.running_var.uniform_(0.5, 2.0)
    return save_like_published(net, tmp_path_factory.mktemp("w2l") / "tiny_wav2lip.pth")


pytestmark = pytest.mark.usefixtures("config_home")  # a fresh XDG_CONFIG_HOME per test


def test_real_layout_and_size():
    """The published generator: 36.3 M parameters; the widths are read back from its shapes."""
    net = Wav2Lip()
    assert config_from_state_dict(net.state_dict()) == REAL_CONFIG
    assert 36.2e6 < sum(p.numel() for p in net.parameters()) < 36.4e6
    keys = net.state_dict()
    # names of the public models/wav2lip.py (what the published state dicts hold)
    for k in ("face_encoder_blocks.6.1.conv_block.1.running_var", "audio_encoder.12.conv_block.0.weight",
              "face_decoder_blocks.1.0.conv_block.0.weight", "output_block.1.weight"):
        assert k in keys


def test_loader_reads_the_widths_and_strips_module(tiny_ckpt):
    W._load.cache_clear()
    net = W.load_wav2lip(tiny_ckpt)
    assert net.cfg == TINY
    assert W.load_wav2lip(tiny_ckpt) is net  # cached
    with torch.inference_mode():
        y = net(torch.zeros(2, 1, 80, 16), torch.zeros(2, 6, 96, 96))
    assert tuple(y.shape) == (2, 3, 96, 96)


def test_mel_matches_the_training_spectrogram():
    """Our NumPy mel = the published audio.py's recipe (pre-emphasis, librosa STFT with
    reflect padding, Slaney mel 55-7600 Hz, dB, symmetric [-4, 4])."""
    librosa = pytest.importorskip("librosa")
    from scipy.signal import lfilter

    from twintake.render.neural.mel import MelWindows

    rng = np.random.default_rng(0)
    x = (rng.standard_normal(16000) * 0.1).astype(np.float32)
    d = librosa.stft(y=lfilter([1, -0.97], [1], x), n_fft=800, hop_length=200, win_length=800, pad_mode="reflect")
    mel = librosa.filters.mel(sr=16000, n_fft=800, n_mels=80, fmin=55, fmax=7600) @ np.abs(d)
    s = np.clip(8 * ((20 * np.log10(np.maximum(1e-5, mel)) - 20 + 100) / 100) - 4, -4, 4)
    mw = MelWindows(x, 25.0)
    assert np.abs(mw.frames(0, s.shape[1]) - s).max() < 1e-4
    w = mw.windows(0, 25)  # 1 s at 25 fps: window t starts at mel frame int(t * 80 / 25)
    assert w.shape == (25, 1, 80, 16)
    assert np.allclose(w[3, 0], s[:, 9:25], atol=1e-4)
    assert np.allclose(w[24, 0], s[:, -16:], atol=1e-4)  # the last full window at the end


def _frames(path) -> np.ndarray:
    from twintake.media import iter_frames

    return np.stack([f.image for f in iter_frames(path)])


def test_lipsync_end_to_end(tiny_video, tiny_speech, tiny_ckpt, tmp_path):
    """An MP4 of the speech's length and the source's size; the lower face is the network's,
    the top of the frame is the source's."""
    import twintake
    from twintake.media import probe
    from twintake.render.neural.wav2lip import face_box

    out = tmp_path / "w2l.mp4"
    res = twintake.lipsync(tiny_video, tiny_speech, out, LipsyncOptions(
        lipsync_backend="wav2lip", lipsync_checkpoint=str(tiny_ckpt), enhance="none"), provenance=False)
    info = probe(out)
    assert (info.video.width, info.video.height) == (320, 320)
    assert res.frames == 75 and abs(info.duration_s - 3.0) < 0.1  # 3.0 s speech at 25 fps
    got, src = _frames(out), _frames(tiny_video)
    assert len(got) == 75
    from twintake.prepare import prepare_video

    prep = prepare_video(tiny_video)
    mouth_change, top_change = [], []
    for t in range(0, 75, 5):
        b = res.base_frames[t]
        if not prep.track.valid[b]:
            continue
        x0, y0, x1, y1 = face_box(prep.track.landmarks[b], 320, 320)
        lm = prep.track.landmarks[b]
        mx0, my0 = lm[[61, 291, 13, 14], :2].min(0).astype(int)
        mx1, my1 = lm[[61, 291, 13, 14], :2].max(0).astype(int) + 1
        diff = np.abs(got[t].astype(np.int16) - src[b].astype(np.int16))
        mouth_change.append(diff[my0:my1, mx0:mx1].mean())
        brows = int(lm[[105, 334], 1].min())
        top_change.append(diff[:max(8, brows - 4)].mean())
    assert len(mouth_change) >= 10
    assert np.mean(mouth_change) > 15  # the random network's mouth (a flat colour) replaced the lips
    assert np.max(top_change) < 2.0  # above the brows: only the codec's noise


def _say(video, speech, out, *extra):
    return CliRunner().invoke(app, ["say", str(video), "--audio", str(speech), "-o", str(out), "-q",
                                    "--no-provenance", "--lipsync-backend", "wav2lip", *map(str, extra)])


def test_cli_writes_video_and_gives_the_licence_notice_once(tiny_video, tiny_speech, tiny_ckpt, tmp_path):
    r = _say(tiny_video, tiny_speech, tmp_path / "a.mp4", "--checkpoint", tiny_ckpt)
    assert r.exit_code == 0, r.output
    assert (tmp_path / "a.mp4").is_file()
    assert "non-commercial" in r.output
    r = _say(tiny_video, tiny_speech, tmp_path / "b.mp4", "--checkpoint", tiny_ckpt)
    assert r.exit_code == 0 and "non-commercial" not in r.output


def _bad_checkpoints(tiny_ckpt: Path, folder: Path) -> dict[str, tuple[Path, str]]:
    """name -> (file, text its error must contain)."""
    truncated = folder / "truncated.pth"
    truncated.write_bytes(tiny_ckpt.read_bytes()[: tiny_ckpt.stat().st_size // 2])
    syncnet = folder / "lipsync_expert.pth"  # the SyncNet expert: another architecture
    torch.save({"state_dict": {"module.face_encoder.0.conv_block.0.weight": torch.zeros(32, 15, 7, 7)}}, syncnet)
    gfpgan = folder / "GFPGANv1.4.pth"
    torch.save({"params_ema": {"conv_body_first.weight": torch.zeros(32, 3, 1, 1)}}, gfpgan)
    shaped = folder / "wrong_shape.pth"
    ck = torch.load(tiny_ckpt, weights_only=True)
    ck["state_dict"]["module.audio_encoder.1.conv_block.0.weight"] = torch.zeros(4, 4, 5, 5)
    torch.save(ck, shaped)
    return {"missing": (folder / "absent.pth", "not found"),
            "truncated": (truncated, "cannot read"),
            "syncnet": (syncnet, "is not a Wav2Lip checkpoint"),
            "gfpgan": (gfpgan, "is not a Wav2Lip checkpoint"),
            "wrong_shape": (shaped, "does not fit the Wav2Lip architecture")}


@pytest.mark.parametrize("case", ["missing", "truncated", "syncnet", "gfpgan", "wrong_shape"])
def test_cli_bad_checkpoint_is_one_line_before_any_work(case, tiny_video, tiny_speech, tiny_ckpt, tmp_path):
    path, text = _bad_checkpoints(tiny_ckpt, tmp_path)[case]
    out = tmp_path / "o.mp4"
    r = _say(tiny_video, tiny_speech, out, "--checkpoint", path)
    assert r.exit_code in (1, 2), r.output
    lines = [ln for ln in r.output.splitlines() if ln.strip() and not ln.startswith("warning: --no-provenance")]
    assert len(lines) == 1 and lines[0].startswith("error: "), r.output
    assert str(path) in lines[0] and text in lines[0] and "wav2lip" in lines[0].lower()
    assert "Traceback" not in r.output
    assert not out.exists() and not list(tmp_path.glob("*.mp4"))


def test_cuda_without_a_gpu_is_one_line(tiny_video, tiny_speech, tiny_ckpt, tmp_path):
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    out = tmp_path / "o.mp4"
    r = _say(tiny_video, tiny_speech, out, "--checkpoint", tiny_ckpt, "--device", "cuda")
    assert r.exit_code == 1
    lines = [ln for ln in r.output.splitlines() if ln.startswith("error: ")]
    assert len(lines) == 1 and "no CUDA GPU" in lines[0] and str(tiny_ckpt) in lines[0]
    assert not out.exists()


def test_missing_extra_names_it(tiny_ckpt, monkeypatch):
    import sys

    W._load.cache_clear()
    monkeypatch.setitem(sys.modules, "torch", None)  # as if PyTorch were not installed
    with pytest.raises(BackendError, match=r'pip install "twintake\[neural\]"'):
        W.load_wav2lip(tiny_ckpt)


def test_options_and_batch_rows_validate(tiny_ckpt, tmp_path):
    from twintake.service.rows import options_from

    with pytest.raises(BackendError, match="needs its checkpoint"):
        LipsyncOptions(lipsync_backend="wav2lip")
    with pytest.raises(BackendError, match="unknown --lipsync-backend"):
        LipsyncOptions(lipsync_backend="sadtalker")
    with pytest.raises(BackendError, match="unknown --device"):
        LipsyncOptions(lipsync_backend="wav2lip", lipsync_checkpoint=str(tiny_ckpt), device="tpu")
    o, _ = options_from({"lipsync_backend": "wav2lip", "checkpoint": str(tiny_ckpt), "device": "cpu"})
    assert (o.lipsync_backend, o.lipsync_checkpoint, o.device) == ("wav2lip", str(tiny_ckpt), "cpu")


def test_photo_source_is_refused(tiny_photo, tiny_speech, tiny_ckpt, tmp_path):
    out = tmp_path / "o.mp4"
    r = CliRunner().invoke(app, ["say", str(tiny_photo), "--audio", str(tiny_speech), "-o", str(out), "-q",
                                 "--no-provenance", "--lipsync-backend", "wav2lip", "--checkpoint", str(tiny_ckpt)])
    assert r.exit_code == 1 and "is a photo" in r.output and not out.exists()


def test_eval_puts_wav2lip_in_the_same_table(tiny_video, tiny_ckpt, tmp_path):
    from twintake.evaluate.protocol import EvalConfig, evaluate_video

    cfg = EvalConfig(max_seconds=2.4, methods=("twintake", "wav2lip"), checkpoint=str(tiny_ckpt), image_stride=4,
                     strip_frames=2)
    ev = evaluate_video(tiny_video, tmp_path, cfg)
    assert set(ev.results) >= {"real", "twintake", "wav2lip"}
    assert (tmp_path / tiny_video.stem / "wav2lip.mp4").is_file()
    assert np.isfinite(ev.results["wav2lip"].lmd)


def test_avatar_stores_the_backend_and_say_uses_it(tiny_video, tiny_speech, tiny_ckpt, tmp_path):
    from twintake.avatar import Avatar

    av = tmp_path / "anna"
    r = CliRunner().invoke(app, ["prepare", str(tiny_video), "-o", str(av), "--voice", "none", "-q",
                                 "--lipsync-backend", "wav2lip", "--checkpoint", str(tiny_ckpt)])
    assert r.exit_code == 0, r.output
    a = Avatar.load(av)
    o = a.options()
    assert (o.lipsync_backend, o.lipsync_checkpoint) == ("wav2lip", str(tiny_ckpt.resolve()))
    from twintake.job import make_video

    res = make_video(av, audio=tiny_speech, out=tmp_path / "o.mp4", provenance=False)
    assert res.render.frames == 75 and "non-commercial" in " ".join(res.notes)
    # the call's own choice wins: the built-in backend, no checkpoint carried over
    o = a.options(LipsyncOptions(lipsync_backend="twintake"))
    assert o.lipsync_checkpoint is None
    bad = tmp_path / "broken.pth"
    bad.write_bytes(b"not a checkpoint")
    r = CliRunner().invoke(app, ["prepare", str(tiny_video), "-o", str(tmp_path / "b"), "--voice", "none", "-q",
                                 "--lipsync-backend", "wav2lip", "--checkpoint", str(bad)])
    assert r.exit_code == 1 and str(bad) in r.output and not (tmp_path / "b").exists()


def test_batch_and_eval_flags_check_the_checkpoint_first(tiny_video, tiny_speech, tmp_path):
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text(f'{{"source": "{tiny_video}", "audio": "{tiny_speech}", "out": "a"}}\n')
    bad = tmp_path / "half.pth"
    bad.write_bytes(b"PK\x03\x04 truncated")
    r = CliRunner().invoke(app, ["batch", str(jobs), "--out", str(tmp_path / "outs"), "-q",
                                 "--lipsync-backend", "wav2lip", "--checkpoint", str(bad)])
    assert r.exit_code == 1 and str(bad) in r.output and "cannot read" in r.output
    assert not (tmp_path / "outs").exists()
    r = CliRunner().invoke(app, ["eval", "--suite", str(tiny_video), "--out", str(tmp_path / "ev"), "-q",
                                 "--methods", "twintake,wav2lip"])
    assert r.exit_code == 1 and "needs its checkpoint" in r.output and not (tmp_path / "ev").exists()
