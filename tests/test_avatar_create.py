"""``twintake avatar create`` through the loading code users hit, on a tiny randomly initialised
Stable Diffusion pipeline built by the test in diffusers' folder layout (no downloads).

A random model cannot draw a face: where a face is needed, the test keeps the real pipeline run
(prompt -> tiny UNet/VAE/CLIP -> image) and then puts ``tests/data/tiny_portrait.jpg`` in place of
one generated image, as if the model had drawn it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("diffusers")
from typer.testing import CliRunner  # noqa: E402

import twintake.generate as generate  # noqa: E402
from twintake.cli import app  # noqa: E402

from .conftest import DATA  # noqa: E402
from .neural_models import build_tiny_sd  # noqa: E402


@pytest.fixture(scope="module")
def sd_dir(tmp_path_factory) -> Path:
    return build_tiny_sd(tmp_path_factory.mktemp("sd") / "sd-turbo-tiny")


pytestmark = pytest.mark.usefixtures("config_home")  # a fresh XDG_CONFIG_HOME per test


def _create(*args):
    return CliRunner().invoke(app, ["avatar", "create", *map(str, args), "-q"])


def test_creates_a_photo_avatar_from_the_image_with_a_face(sd_dir, tmp_path, monkeypatch):
    from PIL import Image

    face = np.asarray(Image.open(DATA / "tiny_portrait.jpg").convert("RGB"))
    real = generate.generate_portraits
    ran = []

    def with_a_face(pipe, prompt, **kw):
        portraits = real(pipe, prompt, **kw)  # the tiny pipeline really runs
        ran.append([p.image.shape for p in portraits])
        portraits[1].image = face  # the random model cannot draw one: the image of seed+1 is a real portrait
        return portraits

    monkeypatch.setattr(generate, "generate_portraits", with_a_face)
    out = tmp_path / "avatars" / "ada"
    r = _create("--prompt", "a smiling woman", "--model", sd_dir, "-o", out, "--count", "3", "--seed", "7",
                "--size", "256")
    assert r.exit_code == 0, r.output
    assert ran == [[(256, 256, 3)] * 3]
    assert "Non-Commercial" in r.output  # SD-Turbo's licence, on first use
    m = json.loads((out / "avatar.json").read_text())
    assert m["kind"] == "photo" and (m["width"], m["height"]) == (face.shape[1], face.shape[0])
    saved = np.asarray(Image.open(out / m["source_file"]).convert("RGB"))
    assert np.array_equal(saved, face)  # the one image with a face was chosen (PNG: lossless)
    from twintake import Avatar

    assert Avatar.load(out).kind == "photo"


def test_no_face_in_any_image_writes_nothing(sd_dir, tmp_path):
    out = tmp_path / "ada"
    r = _create("--prompt", "a smiling woman", "--model", sd_dir, "-o", out, "--count", "2", "--size", "256")
    assert r.exit_code == 1 and "none of the 2 generated images" in r.output, r.output
    assert not out.exists() and not any(tmp_path.glob(".ada*"))


def test_errors_name_the_file_before_any_work(sd_dir, tmp_path):
    out = tmp_path / "ada"

    def one_line(r, *words):
        assert r.exit_code == 1, r.output
        lines = [ln for ln in r.output.splitlines() if ln.startswith("error:")]
        assert len(lines) == 1 and all(w in lines[0] for w in words), r.output

    one_line(_create("--prompt", "x", "--model", tmp_path / "none", "-o", out), "none", "not found")
    other = tmp_path / "other"
    shutil.copytree(sd_dir, other)
    (other / "model_index.json").write_text(json.dumps({"_class_name": "DDPMPipeline"}))
    one_line(_create("--prompt", "x", "--model", other, "-o", out), "model_index.json", "DDPMPipeline")
    trunc = tmp_path / "trunc"
    shutil.copytree(sd_dir, trunc)
    weights = next((trunc / "unet").glob("*.safetensors"))
    weights.write_bytes(weights.read_bytes()[:1000])
    generate.load_sd_pipeline.cache_clear()
    one_line(_create("--prompt", "x", "--model", trunc, "-o", out), str(trunc), "cannot be loaded")
    one_line(_create("--prompt", "x", "--model", sd_dir, "-o", out, "--device", "cuda"), "cuda", "no CUDA GPU")
    notsd = tmp_path / "w.bin"
    notsd.write_bytes(b"x")
    one_line(_create("--prompt", "x", "--model", notsd, "-o", out), "w.bin", ".safetensors")
    assert not out.exists()
