"""Reading photos of every common kind (render/photo/face.py load_photo)."""

import numpy as np
from PIL import Image

from twintake.render.photo.face import load_photo


def test_16_bit_greyscale_is_scaled_not_clipped_to_white(tmp_path):
    ramp = np.tile(np.linspace(0, 65535, 64).astype(np.uint16), (32, 1))
    Image.fromarray(ramp).save(tmp_path / "g16.png")  # PIL mode I;16
    img = load_photo(tmp_path / "g16.png")
    assert img.shape == (32, 64, 3) and img.dtype == np.uint8
    assert np.abs(img[0, :, 0].astype(int) - np.round(ramp[0] / 257)).max() <= 1
    assert img[0, 0, 0] == 0 and img[0, -1, 0] == 255 and 100 < img[0, 32, 0] < 155


def test_transparent_pixels_are_laid_on_white(tmp_path):
    rgba = np.zeros((20, 20, 4), np.uint8)
    rgba[..., 0] = 255  # hidden red under the transparent half
    rgba[:, :10, :3] = (30, 60, 90)
    rgba[:, :10, 3] = 255
    Image.fromarray(rgba, "RGBA").save(tmp_path / "cut.png")
    img = load_photo(tmp_path / "cut.png")
    assert (img[:, :10] == (30, 60, 90)).all()
    assert (img[:, 10:] == 255).all()


def test_ordinary_photos_are_unchanged(tmp_path):
    rgb = np.random.default_rng(0).integers(0, 256, (16, 24, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(tmp_path / "p.png")
    assert np.array_equal(load_photo(tmp_path / "p.png"), rgb)
    grey = rgb[..., 0]
    Image.fromarray(grey).save(tmp_path / "l.png")
    assert np.array_equal(load_photo(tmp_path / "l.png"), np.repeat(grey[..., None], 3, 2))


def test_a_large_photo_makes_a_video_at_most_1920_wide_by_default(media, tmp_path):
    import cv2

    from twintake.render.photo import MAX_PHOTO_SIDE_PX, PhotoCompositor, default_photo_size

    assert default_photo_size(6000, 4000) == (1920, 1280)
    assert default_photo_size(1024, 2048) == (960, 1920)
    assert default_photo_size(1920, 1080) == (1920, 1080)
    img = load_photo(media / "portrait/avg_man2.jpg")
    big = cv2.resize(img, (img.shape[1] * 4, img.shape[0] * 4), interpolation=cv2.INTER_CUBIC)
    Image.fromarray(big).save(tmp_path / "big.png")
    comp = PhotoCompositor(tmp_path / "big.png")
    assert max(comp.width, comp.height) <= MAX_PHOTO_SIDE_PX
    assert abs(comp.width / comp.height - big.shape[1] / big.shape[0]) < 0.01
    assert (comp.width, comp.height) == default_photo_size(big.shape[1], big.shape[0])
    small = PhotoCompositor(media / "portrait/avg_man2.jpg")  # under the cap: its own size
    assert (small.width, small.height) == (img.shape[1] // 2 * 2, img.shape[0] // 2 * 2)


def test_a_float_image_in_0_to_1_is_not_black(tmp_path):
    ramp = np.tile(np.linspace(0, 1, 32, dtype=np.float32), (8, 1))
    Image.fromarray(ramp, "F").save(tmp_path / "f.tiff")
    img = load_photo(tmp_path / "f.tiff")
    assert img[0, 0, 0] == 0 and img[0, -1, 0] == 255
