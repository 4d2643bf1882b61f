"""--enhance none|mouth|face and --enhancer-model: detail restoration, bad inputs, GFPGAN loading."""

from __future__ import annotations

import sys

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from twintake.avatar import Avatar, check_defaults
from twintake.cli import app
from twintake.errors import AvatarError, BackendError
from twintake.evaluate import metrics as M
from twintake.face import landmarks as L
from twintake.face.tracker import MediaPipeTracker
from twintake.media import iter_frames
from twintake.options import LipsyncOptions
from twintake.render.region import BlendRegion
from twintake.render.enhance import (ENHANCE_MODES, DetailEnhancer, DetailOptions, EnhanceFrame, enhance_frame,
                                     make_enhancer)

VIDEO = "video/vretalking_face2.mp4"  # 844x844, 25 fps, real face ~330 px
SPEECH = "speech_en/realthreed_obama_5s.wav"
N_FRAMES = 40


@pytest.fixture(scope="module")
def faces(media):
    """N_FRAMES consecutive real frames and their face-mesh landmarks."""
    frames = [f.image for f in iter_frames(media / VIDEO, stop=N_FRAMES)]
    tracked = list(MediaPipeTracker(25.0).track_frames(frames))
    assert all(lm is not None for lm in tracked)
    return frames, tracked


def mouth_region(landmarks: np.ndarray, shape) -> BlendRegion:
    """A feathered lower-face mask like the compositor's (convex hull of jaw + under-nose)."""
    pts = landmarks[np.concatenate([L.JAW, L.UNDER_NOSE]), :2]
    x0, y0 = (pts.min(0) - 12).astype(int)
    x1, y1 = (pts.max(0) + 12).astype(int)
    mask = np.zeros((y1 - y0, x1 - x0), np.float32)
    cv2.fillConvexPoly(mask, cv2.convexHull((pts - (x0, y0)).astype(np.float32)).astype(np.int32), 1.0)
    mask = cv2.GaussianBlur(cv2.erode(mask, np.ones((9, 9), np.uint8)), (0, 0), 3)
    mask[mask < 1 / 255] = 0
    return BlendRegion(y0=int(y0), x0=int(x0), alpha=mask)


def blurred_inside(base: np.ndarray, region: BlendRegion, sigma: float = 1.0) -> np.ndarray:
    """``base`` with the region blended towards a Gaussian blur of itself (the warps' loss)."""
    x0, y0, x1, y1 = region.box
    roi = base[y0:y1, x0:x1].astype(np.float32)
    a = region.alpha[..., None]
    out = base.copy()
    out[y0:y1, x0:x1] = np.clip(roi + a * (cv2.GaussianBlur(roi, (0, 0), sigma) - roi) + 0.5, 0, 255).astype(np.uint8)
    return out


def full_mask(region: BlendRegion, shape) -> np.ndarray:
    m = np.zeros(shape[:2], bool)
    x0, y0, x1, y1 = region.box
    m[y0:y1, x0:x1] = region.alpha > 0
    return m


def run_detail(faces, mode="mouth", options=None):
    frames, lms = faces
    items, regions, blurred = [], [], []
    for img, lm in zip(frames, lms):
        reg = mouth_region(lm, img.shape[:2])
        b = blurred_inside(img, reg)
        items.append(enhance_frame(mode, img, b.copy(), lm, reg))  # enhancers write in place
        regions.append(items[-1].region)
        blurred.append(b)
    enh = DetailEnhancer(25.0, options)
    return list(enh.enhance(items)), blurred, regions, enh


def sharpness(images, lms) -> float:
    return float(np.mean([M.laplacian_variance(cv2.cvtColor(img[y0:y1, x0:x1], cv2.COLOR_RGB2GRAY))
                          for img, lm in zip(images, lms)
                          for (x0, y0, x1, y1) in [M.mouth_box(lm, img.shape[:2])]]))


def test_detail_restores_sharpness_of_a_blurred_mouth(faces):
    frames, lms = faces
    out, blurred, regions, enh = run_detail(faces)
    real, soft, fixed = sharpness(frames, lms), sharpness(blurred, lms), sharpness(out, lms)
    assert soft / real < 0.5  # the blur really removed detail
    assert 0.9 < fixed / real < 1.2  # ... and the enhancer put about that much back, not more
    # restoring, not just adding texture: closer to the real pixels than the blurred ones are
    gain_db = [M.psnr(o, f, full_mask(r, f.shape)) - M.psnr(b, f, full_mask(r, f.shape))
               for o, b, f, r in zip(out, blurred, frames, regions)]
    assert np.mean(gain_db) > 0.5
    assert len(enh.gains) == len(frames) and min(enh.gains) > 0


def test_pixels_outside_the_region_are_bit_exact(faces):
    out, blurred, regions, _ = run_detail(faces)
    changed = 0
    for o, b, r in zip(out, blurred, regions):
        inside = full_mask(r, b.shape)
        assert np.array_equal(o[~inside], b[~inside])
        changed += int((o[inside] != b[inside]).any(axis=-1).sum())
    assert changed > 1000


def test_face_mode_enhances_the_whole_face_and_nothing_else(faces):
    frames, lms = faces
    out, blurred, regions, _ = run_detail(faces, mode="face")
    img, o, r, lm = blurred[5], out[5], regions[5], lms[5]
    inside = full_mask(r, img.shape)
    assert np.array_equal(o[~inside], img[~inside])
    # the face region covers the eyes (which mouth mode never touches), and they were sharpened
    eye = L.RIGHT_EYE_CORNERS
    ex0, ey0 = lm[eye, :2].min(0).astype(int) - 5
    ex1, ey1 = lm[eye, :2].max(0).astype(int) + 5
    assert inside[ey0:ey1, ex0:ex1].all()
    assert (o[ey0:ey1, ex0:ex1] != img[ey0:ey1, ex0:ex1]).any()


def test_strength_is_stable_over_time(faces):
    unlimited = float("inf")
    _, _, _, windowed = run_detail(faces, options=DetailOptions(max_rate_per_s=unlimited))
    _, _, _, per_frame = run_detail(faces, options=DetailOptions(window_s=0.0, history_s=0.0,
                                                                 max_rate_per_s=unlimited))
    step_w = np.abs(np.diff(windowed.gains)).max()
    step_f = np.abs(np.diff(per_frame.gains)).max()
    assert step_w < 0.05
    assert step_w < 0.5 * step_f  # the window is what keeps it steady
    # and the default slew-rate limit bounds any change to 0.5 per second
    _, _, _, limited = run_detail(faces, options=DetailOptions(window_s=0.0, history_s=0.0))
    assert np.abs(np.diff(limited.gains)).max() <= 0.5 / 25 + 1e-9
    assert max(limited.gains) > 0.3


def test_frames_without_face_pass_through(faces):
    frames, _ = faces
    enh = DetailEnhancer(25.0)
    items = [EnhanceFrame(image=f) for f in frames[:5]]
    out = list(enh.enhance(items))
    assert len(out) == 5 and all(o is f for o, f in zip(out, frames[:5]))


def test_options_validate_enhance_and_model(tmp_path):
    assert LipsyncOptions(enhance="face").enhance == "face"
    with pytest.raises(BackendError, match="none, mouth, face"):
        LipsyncOptions(enhance="sharp")
    with pytest.raises(BackendError, match="nope.pth"):
        LipsyncOptions(enhancer_model=str(tmp_path / "nope.pth"))
    ckpt = tmp_path / "x.pth"
    ckpt.write_bytes(b"0")
    with pytest.raises(BackendError, match="needs --enhance mouth or face"):
        LipsyncOptions(enhance="none", enhancer_model=str(ckpt))
    assert make_enhancer("none", 25.0) is None
    assert make_enhancer(None, 25.0).name == "detail"
    assert set(ENHANCE_MODES) == {"none", "mouth", "face"}


def test_avatar_defaults_apply_unless_overridden(tmp_path):
    assert check_defaults({"enhance": "face", "fps": "50", "enhancer_model": None}) == {"enhance": "face",
                                                                                          "fps": 50.0}
    with pytest.raises(BackendError, match="none, mouth, face"):
        check_defaults({"enhance": "blur"})
    with pytest.raises(AvatarError, match="unknown avatar default"):
        check_defaults({"colour": "red"})
    av = Avatar(path=tmp_path, manifest={"defaults": {"enhance": "face", "fps": 50.0}}, prepared=None)
    o = av.options()
    assert (o.enhance, o.fps) == ("face", 50.0)
    o = av.options(LipsyncOptions(enhance="none", crf=20))
    assert (o.enhance, o.fps, o.crf) == ("none", 50.0, 20)
    assert Avatar(path=tmp_path, manifest={}, prepared=None).options().enhance is None


# ------------------------------------------------------------------------------- CLI


def test_cli_unknown_enhance_is_a_usage_error(media, tmp_path):
    out = tmp_path / "o.mp4"
    r = CliRunner().invoke(app, ["say", str(media / VIDEO), "--audio", str(media / SPEECH), "-o", str(out),
                                 "--enhance", "sharpest", "-q"])
    assert r.exit_code == 2
    assert "unknown --enhance 'sharpest'" in r.output and "none, mouth, face" in r.output
    assert "Traceback" not in r.output
    assert not out.exists()


def test_cli_missing_checkpoint_names_the_file(media, tmp_path):
    out = tmp_path / "o.mp4"
    missing = tmp_path / "GFPGANv1.4.pth"
    r = CliRunner().invoke(app, ["say", str(media / VIDEO), "--audio", str(media / SPEECH), "-o", str(out),
                                 "--enhancer-model", str(missing), "-q"])
    assert r.exit_code == 2
    assert str(missing) in r.output and "not found" in r.output
    assert "Traceback" not in r.output
    assert not out.exists()


def test_cli_wrong_architecture_is_a_clear_error(media, tmp_path):
    torch = pytest.importorskip("torch")
    ckpt = tmp_path / "codeformer.pth"
    torch.save({"params_ema": torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3)).state_dict()}, ckpt)
    out = tmp_path / "o.mp4"
    r = CliRunner().invoke(app, ["say", str(media / VIDEO), "--audio", str(media / SPEECH), "-o", str(out),
                                 "--enhancer-model", str(ckpt), "-q"])
    assert r.exit_code == 1
    assert f"{ckpt} is not a GFPGANv1Clean" in r.output
    assert "Traceback" not in r.output
    assert not out.exists()


# --------------------------------------------------------------------------- GFPGAN


@pytest.fixture(scope="module")
def tiny_gfpgan(tmp_path_factory):
    """A tiny randomly initialised GFPGANv1Clean (64 px, narrow widths) saved like the released
    checkpoints: ``{"params_ema": state_dict}``."""
    torch = pytest.importorskip("torch")
    from twintake.render.enhance.gfpgan_arch import GFPGANv1Clean, official_config

    torch.manual_seed(0)
    net = GFPGANv1Clean(official_config(out_size=64, narrow=1 / 32, num_style_feat=16, num_mlp=2))
    path = tmp_path_factory.mktemp("gfpgan") / "tiny_gfpgan.pth"
    torch.save({"params_ema": net.state_dict()}, path)
    return path, net


def test_official_key_layout():
    """The released GFPGAN v1.3/v1.4 layout (from TencentARC/GFPGAN gfpganv1_clean_arch.py,
    out_size 512, channel_multiplier 2, sft_half, different_w), built without allocating."""
    torch = pytest.importorskip("torch")
    from twintake.render.enhance.gfpgan import config_from_state_dict
    from twintake.render.enhance.gfpgan_arch import GFPGANv1Clean, official_config

    with torch.device("meta"):
        sd = GFPGANv1Clean(official_config()).state_dict()
    expected = {
        "conv_body_first.weight": (32, 3, 1, 1),
        "conv_body_down.0.skip.weight": (64, 32, 1, 1),
        "conv_body_down.6.conv2.weight": (256, 256, 3, 3),
        "final_conv.weight": (256, 256, 3, 3),
        "final_linear.weight": (8192, 4096),
        "conv_body_up.6.conv2.weight": (32, 64, 3, 3),
        "toRGB.6.weight": (3, 32, 1, 1),
        "condition_scale.6.2.weight": (32, 32, 3, 3),
        "condition_shift.0.0.bias": (256,),
        "stylegan_decoder.style_mlp.15.weight": (512, 512),
        "stylegan_decoder.constant_input.weight": (1, 512, 4, 4),
        "stylegan_decoder.style_conv1.modulated_conv.modulation.weight": (512, 512),
        "stylegan_decoder.style_conv1.weight": (1,),
        "stylegan_decoder.style_convs.13.modulated_conv.weight": (1, 64, 64, 3, 3),
        "stylegan_decoder.style_convs.13.bias": (1, 64, 1, 1),
        "stylegan_decoder.to_rgb1.bias": (1, 3, 1, 1),
        "stylegan_decoder.to_rgbs.6.modulated_conv.weight": (1, 3, 64, 1, 1),
        "stylegan_decoder.noises.noise14": (1, 1, 512, 512),
    }
    for k, shape in expected.items():
        assert tuple(sd[k].shape) == shape, k
    assert len([k for k in sd if k.startswith("stylegan_decoder.noises.")]) == 15
    assert config_from_state_dict(sd, "x") == official_config()


def test_tiny_gfpgan_loads_and_restores_a_real_face(faces, tiny_gfpgan):
    from twintake.render.enhance.gfpgan import GFPGANEnhancer, load_gfpgan

    path, net = tiny_gfpgan
    loaded = load_gfpgan(path)
    assert loaded.cfg == net.cfg
    for (k, a), b in zip(net.state_dict().items(), loaded.state_dict().values()):
        assert np.array_equal(a.numpy(), b.numpy()), k
    assert load_gfpgan(path) is loaded  # cached
    enh = make_enhancer("mouth", 25.0, path)
    assert isinstance(enh, GFPGANEnhancer) and enh.size == 64
    frames, lms = faces
    img, lm = frames[0], lms[0]
    reg = mouth_region(lm, img.shape[:2])
    (out,) = list(enh.enhance([enhance_frame("mouth", img, img.copy(), lm, reg)]))
    inside = full_mask(reg, img.shape)
    assert out.shape == img.shape and out.dtype == np.uint8
    assert np.array_equal(out[~inside], img[~inside])
    assert (out[inside] != img[inside]).any()  # a random network changes the mouth
    again = enh.enhance_one(enhance_frame("mouth", img, img.copy(), lm, reg))
    assert np.array_equal(out, again)  # stored noise: deterministic


def test_wrong_checkpoints_give_clear_errors(tmp_path, tiny_gfpgan):
    torch = pytest.importorskip("torch")
    from twintake.render.enhance.gfpgan import load_gfpgan

    path, net = tiny_gfpgan
    sd = {k: v.clone() for k, v in net.state_dict().items()}
    sd["stylegan_decoder.style_convs.3.bias"] = torch.zeros(1, 5, 1, 1)  # wrong shape
    bad = tmp_path / "bad_shape.pth"
    torch.save({"params_ema": sd}, bad)
    with pytest.raises(BackendError, match="is not a GFPGANv1Clean .* checkpoint: its tensors do not fit"):
        load_gfpgan(bad)
    sd = {k: v for k, v in net.state_dict().items() if k != "final_linear.weight"}
    torch.save(sd, tmp_path / "missing.pth")
    with pytest.raises(BackendError, match="final_linear.weight"):
        load_gfpgan(tmp_path / "missing.pth")
    (tmp_path / "text.pth").write_text("not a checkpoint")
    with pytest.raises(BackendError, match="cannot read .*text.pth as a PyTorch checkpoint"):
        load_gfpgan(tmp_path / "text.pth")
    with pytest.raises(BackendError, match="not found"):
        load_gfpgan(tmp_path / "absent.pth")


def test_missing_torch_names_the_extra(tiny_gfpgan, monkeypatch):
    from twintake.render.enhance import gfpgan

    path, _ = tiny_gfpgan
    gfpgan._load.cache_clear()
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch -> ImportError
    with pytest.raises(BackendError, match=r'pip install "twintake\[neural\]"'):
        gfpgan.load_gfpgan(path)


# ------------------------------------------------------------------------ end to end


def test_avatar_defaults_end_to_end(media, tmp_path):
    """`prepare --enhance none --fps 50` stores defaults; `say` uses them unless overridden."""
    import json

    from twintake.media import load_audio, probe, write_wav

    av = tmp_path / "face2"
    r = CliRunner().invoke(app, ["prepare", str(media / VIDEO), "-o", str(av), "--voice", "none",
                                 "--enhance", "none", "--fps", "50", "-q"])
    assert r.exit_code == 0, r.output
    assert json.loads((av / "avatar.json").read_text())["defaults"] == {"enhance": "none", "fps": 50.0}
    wav = tmp_path / "speech.wav"
    write_wav(wav, load_audio(media / SPEECH, 16000)[:32000], 16000)  # 2 s
    avatar = Avatar.load(av)
    plain = avatar.say(audio=wav, out=tmp_path / "plain.mp4")
    assert plain.fps == 50.0 and "enhance" not in plain.timings_s  # the stored defaults
    assert probe(tmp_path / "plain.mp4").video.fps == pytest.approx(50.0)
    sharp = avatar.say(audio=wav, out=tmp_path / "sharp.mp4", options=LipsyncOptions(enhance="mouth"))
    assert sharp.fps == 50.0 and sharp.timings_s["enhance"] > 0  # overridden for this call
    r = CliRunner().invoke(app, ["prepare", str(media / VIDEO), "-o", str(tmp_path / "bad"), "--enhance", "x"])
    assert r.exit_code == 1 and "none, mouth, face" in r.output and not (tmp_path / "bad").exists()
