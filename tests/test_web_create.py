"""The web page's "Create an avatar from a prompt" control (``twintake web --sd-model``), driven in
Chromium (Playwright) against a server started like a user would start it, with a tiny randomly
initialised Stable Diffusion pipeline built by the test in diffusers' folder layout (no downloads).

A random model cannot draw a face: the server process runs the real tiny pipeline for every image
and then puts ``tests/data/tiny_portrait.jpg`` in place of the second image (seed + 1), as if the
model had drawn it - the same injection as ``tests/test_avatar_create.py``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("diffusers")
pytest.importorskip("gradio")

from .neural_models import build_tiny_sd  # noqa: E402
from .webtools import Server, free_port  # noqa: E402

PHOTO = Path(__file__).resolve().parent / "data" / "tiny_portrait.jpg"

#: The server process: ``twintake web ...`` with the second generated image replaced by a real portrait.
LAUNCH = r"""
import sys
import numpy as np
from PIL import Image
import twintake.generate as generate
face = np.asarray(Image.open(sys.argv[1]).convert("RGB"))
real = generate.generate_portraits
def with_a_face(pipe, prompt, **kw):
    portraits = real(pipe, prompt, **kw)  # the tiny pipeline really runs
    portraits[1].image = face  # the random model cannot draw one: the image of seed+1 is a real portrait
    return portraits
generate.generate_portraits = with_a_face
from twintake.cli import app
app(["web", *sys.argv[2:]], prog_name="twintake")
"""


@pytest.fixture(scope="module")
def sd_site(tmp_path_factory, browser):  # noqa: F811
    """A server started with ``--sd-model`` (2 images of 256 px per creation); yields (url, avatars folder)."""
    work = tmp_path_factory.mktemp("web-create")
    sd = build_tiny_sd(work / "sd" / "sd-turbo-tiny")
    port = free_port()
    (work / "tmp").mkdir()
    server = Server([sys.executable, "-c", LAUNCH, str(PHOTO), "--port", str(port), "--avatars",
                     str(work / "avatars"), "--sd-model", str(sd), "--sd-count", "2", "--sd-size", "256"],
                    work, port, env={"TMPDIR": str(work / "tmp"), "XDG_CONFIG_HOME": str(work / "config")},
                    timeout=180)
    yield server.url, work / "avatars"
    server.stop()


def test_without_sd_model_the_page_has_no_create_control(tmp_path):
    from twintake.web.app import WebOptions, build_app

    demo, runtime = build_app(WebOptions(avatars_dir=tmp_path / "avatars"))
    try:
        ids = {getattr(b, "elem_id", None) for b in demo.blocks.values()}
        assert "generate" in ids and "create-prompt" not in ids and "create-avatar-button" not in ids
    finally:
        runtime.close()


def test_create_makes_the_avatar_and_selects_it_in_the_gallery(sd_site, browser):  # noqa: F811
    from PIL import Image

    url, avatars = sd_site
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    page = ctx.new_page()
    try:
        page.goto(url)
        page.wait_for_selector("#generate", timeout=60_000)
        assert page.locator("#create-prompt textarea, #create-prompt input").count() == 1
        button = page.locator("#create-avatar-button")
        assert button.is_visible()
        # an empty prompt: one line next to the buttons, nothing queued
        button.click()
        page.wait_for_function("() => document.querySelector('#status').innerText.includes('prompt is empty')",
                               timeout=30_000)
        page.locator("#create-prompt textarea, #create-prompt input").first.fill("a smiling woman, 40")
        button.click()
        # progress in the bottom bar while the tiny pipeline draws (both buttons disabled)
        page.wait_for_function("() => document.querySelector('#status').innerText.includes('Making an avatar') "
                               "|| document.querySelector('#status').innerText.includes('Done')", timeout=120_000)
        page.wait_for_function("() => document.querySelector('#status').innerText.includes('Done')"
                               "|| document.querySelector('#status .error')", timeout=900_000)
        status = page.locator("#status").inner_text()
        assert "Done" in status, status
        name = page.locator("#created-avatar").inner_text()
        assert name == "smiling-woman-40", status
        assert "Non-Commercial" in status  # SD-Turbo's licence notice, on first use
        # the avatar is the injected portrait, prepared as a photo avatar
        m = json.loads((avatars / name / "avatar.json").read_text())
        assert m["kind"] == "photo"
        saved = np.asarray(Image.open(avatars / name / m["source_file"]).convert("RGB"))
        assert np.array_equal(saved, np.asarray(Image.open(PHOTO).convert("RGB")))
        # it joined the gallery and is the page's choice: selected thumbnail, caption, choice text
        page.wait_for_function("(n) => [...document.querySelectorAll('#gallery .thumbnail-item.selected, "
                               "#gallery button.selected')].length === 1 && "
                               "document.querySelector('#gallery').innerText.includes(n)", arg=name,
                               timeout=30_000)
        assert f"Using avatar {name}" in page.locator("#avatar-choice").inner_text()
        assert page.locator("#source-preview").is_visible()
        assert page.locator("#generate").is_enabled() and button.is_enabled()
    finally:
        ctx.close()
