"""Tests of the spectral lip-shape model (:class:`twintake.motion.opening.ShapeModel`) and its use
by the viseme driver."""

from __future__ import annotations

import numpy as np
import pytest

ROUNDED = {"UW", "UH", "OW", "W"}
SPREAD = {"IY", "IH", "EY", "EH", "AE"}


def _frames_of(phones, symbols: set[str], n: int, fps: float = 25.0) -> np.ndarray:
    idx = [i for p in phones if p.symbol in symbols
           for i in range(int(np.ceil(p.start_s * fps)), int(np.floor(p.end_s * fps)) + 1)]
    return np.array([i for i in idx if i < n], np.int64)


@pytest.fixture(scope="module")
def real_case(tiny_video, tiny_speech):
    """A real person's mouth model (the tiny talking video, prepared as the product does) and real
    English speech with its recognized phones."""
    from twintake.prepare import prepare_video
    from twintake.speech.input import load_speech
    from twintake.speech.phones import recognize_phones

    prep = prepare_video(tiny_video)
    speech = load_speech(tiny_speech)
    speech.phones = recognize_phones(speech.samples, speech.sample_rate_hz)
    return prep, speech, int(round(speech.duration_s * 25))


def test_shape_model_fit_save_load_and_coords(tmp_path) -> None:
    from twintake.motion.opening import N_FEATURES, OpeningModel, ShapeModel, shape_features

    rng = np.random.default_rng(2)
    mean = rng.normal(size=114)
    norm = rng.normal(size=(500, 114)) * np.linspace(2.0, 0.1, 114)
    basis = ShapeModel.fit_basis(norm, 3)
    assert basis.shape == (3, 114) and np.allclose(basis @ basis.T, np.eye(3), atol=1e-9)
    # coords undo the person normalisation: points = mean + range * normalised
    pts = mean + 0.2 * norm[:5]
    assert np.allclose(ShapeModel.normalise(pts, mean, (0.1, 0.3)), norm[:5])
    x = rng.normal(size=(500, N_FEATURES))
    phone_c = np.pad(norm @ basis.T, ((2, 2), (0, 0)), mode="edge")
    feats = shape_features(x, phone_c)
    assert feats.shape == (500, N_FEATURES + 15)
    y = norm @ basis.T
    y[::40] = np.nan  # untracked frames are dropped
    sm = ShapeModel.fit(feats, y, basis, ridge=1.0)
    ok = np.isfinite(y).all(1)
    # the phone-driven coordinates at offset 0 are the targets here: the fit recovers them
    assert np.corrcoef(sm.predict(feats)[ok, 0], y[ok, 0])[0, 1] > 0.95
    om = OpeningModel.fit(x, rng.normal(size=500), ridge=10.0)
    om.shape = sm
    om.save(tmp_path / "m.npz")
    back = OpeningModel.load(tmp_path / "m.npz")
    assert back.shape is not None and np.allclose(back.shape.predict(feats[:7]), sm.predict(feats[:7]))


def test_an_opening_only_model_file_is_refused_in_one_line(tmp_path) -> None:
    """A model file of the previous feature version (the opening alone) names itself and the fix."""
    from twintake.errors import TwintakeError
    from twintake.motion.opening import N_FEATURES, OpeningModel

    np.savez(tmp_path / "v2.npz", mean=np.zeros(N_FEATURES), std=np.ones(N_FEATURES), weights=np.zeros(N_FEATURES + 1),
             centre=0.4, spread=1.2, info=np.array(""), n_features=N_FEATURES, feature_version=2)
    with pytest.raises(TwintakeError, match="retrain it with scripts/train_opening.py") as e:
        OpeningModel.load(tmp_path / "v2.npz")
    assert "\n" not in str(e.value) and "v2.npz" in str(e.value)


def test_the_shipped_model_predicts_rounded_vowels_narrower_than_spread_ones(real_case) -> None:
    """On real speech and a real person's mouth, the lip shape the shipped model predicts is
    narrower on the rounded vowels (/u/, /ʊ/, /o/, /w/) than on the spread ones (/ɪ/, /e/, …)."""
    from twintake.motion.driver import DriverOptions, VisemeDriver
    from twintake.motion.shapes import width

    prep, speech, n = real_case
    m = prep.model
    drv = VisemeDriver(DriverOptions())
    amount, _, _, spectral = drv.articulation_scale(speech, 25.0, n)
    _, coords = drv._spectral_opening(speech, m, prep.shapes, 25.0, amount, spectral, 0, n)
    sm = drv.opening_model().shape
    assert sm is not None and coords.shape == (n, sm.n_coords)
    pts = m.mean + (m.open_range[1] - m.open_range[0]) * coords @ sm.basis
    wd = width(pts)
    rounded, spread = _frames_of(speech.phones, ROUNDED, n), _frames_of(speech.phones, SPREAD, n)
    assert len(rounded) >= 5 and len(spread) >= 5
    assert wd[rounded].mean() < wd[spread].mean() - 0.1 * (m.width_range[1] - m.width_range[0])


def test_shape_pull_keeps_the_opening_and_streams_block_by_block(real_case) -> None:
    """The lip-shape pull changes the shape but not the inner-lip opening, leaves silence at
    rest, and driving block by block gives the whole track's frames."""
    from twintake.motion.driver import DriverOptions, VisemeDriver
    from twintake.motion.shapes import opening

    prep, speech, n = real_case
    m = prep.model
    drv = VisemeDriver(DriverOptions())
    scale = drv.articulation_scale(speech, 25.0, n)
    traj = drv.drive(speech, m, prep.shapes, 25.0, n, scale=scale)
    plain = VisemeDriver(DriverOptions(shape_weight=0.0)).drive(speech, m, prep.shapes, 25.0, n)
    speaking = ~traj.silent
    assert np.allclose(opening(m.decode(traj.coeffs)), opening(m.decode(plain.coeffs)), atol=1e-4)
    moved = np.linalg.norm(m.decode(traj.coeffs) - m.decode(plain.coeffs), axis=1)
    assert moved[speaking].max() > 0.01  # IOD: the shape model is really applied
    parts = [drv.drive(speech, m, prep.shapes, 25.0, n, start=a, stop=min(n, a + 13), scale=scale).coeffs
             for a in range(0, n, 13)]
    assert np.allclose(np.concatenate(parts), traj.coeffs, atol=1e-5)


def test_opening_network_fits_what_a_line_cannot_and_survives_save_load(tmp_path) -> None:
    """The opening network learns a non-linear opening (a line cannot), predicts from the saved
    file exactly as in memory, and a file without a network still predicts with its ridge weights."""
    from twintake.motion.opening import N_FEATURES, OpeningModel

    rng = np.random.default_rng(5)
    x = rng.normal(size=(1500, 4))
    y = 0.3 + 0.2 * np.abs(x[:, 0]) + 0.1 * x[:, 1] + 0.02 * rng.normal(size=1500)
    y[::50] = np.nan  # untracked frames are dropped
    train, test = slice(0, 1000), slice(1000, None)
    ridge = OpeningModel.fit(x[train], y[train], ridge=10.0)
    net = OpeningModel.fit(x[train], y[train], ridge=10.0, net={"decay": 0.01, "epochs": 300})
    ok = np.isfinite(y[test])

    def corr(m):
        return np.corrcoef(m.predict(x[test])[ok], y[test][ok])[0, 1]

    assert net.net is not None and ridge.net is None
    assert corr(net) > corr(ridge) + 0.2 and corr(net) > 0.8
    assert net.spread >= 1.0
    # the shipped format (all the features)
    x = rng.normal(size=(300, N_FEATURES))
    y = rng.normal(size=300)
    ridge = OpeningModel.fit(x, y, ridge=10.0)
    net = OpeningModel.fit(x, y, ridge=10.0, net={"decay": 0.03, "epochs": 10})
    net.save(tmp_path / "net.npz")
    ridge.save(tmp_path / "ridge.npz")
    back = OpeningModel.load(tmp_path / "net.npz")
    assert back.net is not None and np.allclose(back.predict(x[:9]), net.predict(x[:9]))
    assert not np.allclose(back.predict(x[:9]), ridge.predict(x[:9]))
    plain = OpeningModel.load(tmp_path / "ridge.npz")
    assert plain.net is None and np.allclose(plain.predict(x[:9]), ridge.predict(x[:9]))


def test_opening_network_training_is_deterministic() -> None:
    """Same data, same seeds -> the same network (the shipped model can be re-made exactly)."""
    from twintake.motion.opening import OpeningNet

    rng = np.random.default_rng(1)
    a, y = rng.normal(size=(200, 12)), rng.normal(size=200)
    one, two = OpeningNet.fit(a, y, epochs=20, seeds=(0, 1)), OpeningNet.fit(a, y, epochs=20, seeds=(0, 1))
    assert one.w1.shape == (2, 12, 16) and np.array_equal(one.predict(a), two.predict(a))
