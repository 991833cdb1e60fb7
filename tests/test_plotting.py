"""Plot helpers: the numbers they draw, and clear errors on bad input."""

import matplotlib.pyplot as plt
import numpy as np
import pytest

from rlcourse import plotting


def test_rolling_mean_matches_a_loop():
    values = np.random.default_rng(0).normal(size=37)
    for window in (1, 5, 37, 100):
        want = [values[max(0, i + 1 - window):i + 1].mean() for i in range(values.size)]
        np.testing.assert_allclose(plotting.rolling_mean(values, window), want, rtol=1e-12)


@pytest.mark.parametrize("values, window, match", [
    ([1.0, 2.0], 0, "window"), (np.zeros((2, 2)), 3, "values must have 1 dimension"),
])
def test_rolling_mean_rejects_bad_input(values, window, match):
    with pytest.raises(ValueError, match=match):
        plotting.rolling_mean(values, window)


def test_learning_curve_draws_raw_and_rolling_lines_with_labels():
    ax = plotting.learning_curve([0.0, 2.0, 4.0, 6.0], window=2)
    raw, smooth = ax.get_lines()
    np.testing.assert_allclose(raw.get_ydata(), [0, 2, 4, 6])
    np.testing.assert_allclose(smooth.get_ydata(), [0, 1, 3, 5])
    assert ax.get_xlabel() == "episode" and ax.get_ylabel() == "return"
    plt.close("all")


@pytest.mark.parametrize("band", ["std", "sem", "minmax"])
def test_curves_with_band_shades_the_stated_band(band):
    runs = np.array([[0.0, 1.0, 2.0], [2.0, 3.0, 6.0]])
    ax = plotting.curves_with_band([0, 1, 2], runs, band=band, label="demo")
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), [1.0, 2.0, 4.0])
    vertices = ax.collections[0].get_paths()[0].vertices
    spread = {"std": runs.std(axis=0), "sem": runs.std(axis=0, ddof=1) / np.sqrt(2),
              "minmax": runs.max(axis=0) - runs.mean(axis=0)}[band]
    assert np.isclose(vertices[:, 1].max(), (runs.mean(axis=0) + spread).max())
    plt.close("all")


def test_curves_with_band_rejects_mismatched_shapes_and_bands():
    with pytest.raises(ValueError, match="shape"):
        plotting.curves_with_band([0, 1], np.zeros((3, 4)))
    with pytest.raises(ValueError, match="band"):
        plotting.curves_with_band([0, 1], np.zeros((3, 2)), band="iqr")


def test_filmstrip_shows_evenly_spaced_frames():
    frames = [np.full((4, 4, 3), i, dtype=np.uint8) for i in range(10)]
    fig = plotting.filmstrip(frames, n=4)
    shown = [int(ax.get_images()[0].get_array()[0, 0, 0]) for ax in fig.axes]
    assert shown == [0, 3, 6, 9]
    with pytest.raises(ValueError, match="empty"):
        plotting.filmstrip([])
    plt.close("all")


def _decode_gif(data: bytes):
    import io

    from PIL import Image, ImageSequence

    image = Image.open(io.BytesIO(data))
    assert image.format == "GIF"
    return image, [np.asarray(f.convert("RGB")) for f in ImageSequence.Iterator(image)]


def test_animation_gif_holds_every_frame_in_order_and_loops():
    frames = [np.full((4, 6, 3), (40 * i, 0, 255 - 40 * i), dtype=np.uint8) for i in range(5)]
    image, decoded = _decode_gif(plotting.animation_gif(frames, fps=10))
    assert len(decoded) == 5 and decoded[0].shape == (4, 6, 3)
    for want, got in zip(frames, decoded):
        np.testing.assert_array_equal(got, want)  # flat colours survive quantisation exactly
    assert image.info["duration"] == 100 and image.info["loop"] == 0


def test_animation_is_an_image_gif_output():
    frames = [np.full((4, 4, 3), 40 * i, dtype=np.uint8) for i in range(3)]
    bundle = plotting.animation(frames, fps=10)._repr_mimebundle_()
    data = bundle[0] if isinstance(bundle, tuple) else bundle
    assert "image/gif" in data


def test_animation_html_is_a_gif_data_uri_without_scripts_or_links():
    import base64
    import re

    frames = [np.full((4, 4, 3), 40 * i, dtype=np.uint8) for i in range(3)]
    html = plotting.animation_html(frames, fps=10)
    assert "<script" not in html and "http" not in html and "<link" not in html
    match = re.fullmatch(r'<img src="data:image/gif;base64,([A-Za-z0-9+/=]+)" alt="[^"]*">', html)
    assert match, html[:200]
    _, decoded = _decode_gif(base64.b64decode(match.group(1)))
    assert len(decoded) == 3


@pytest.mark.parametrize("frames, fps, match", [
    ([], 10, "empty"),
    ([np.zeros((4, 4), dtype=np.uint8)], 10, r"frames\[0\].*\(H, W, 3\) uint8"),
    ([np.zeros((4, 4, 3), dtype=np.float32)], 10, "uint8"),
    ([np.zeros((4, 4, 3), dtype=np.uint8), np.zeros((5, 4, 3), dtype=np.uint8)], 10,
     r"frames\[1\] has shape"),
    ([np.zeros((4, 4, 3), dtype=np.uint8)], 0, "fps"),
])
def test_animation_gif_rejects_bad_input(frames, fps, match):
    with pytest.raises(ValueError, match=match):
        plotting.animation_gif(frames, fps=fps)


def test_rolling_mean_keeps_small_values_after_a_large_one_and_refuses_nan():
    v = np.array([1e16, 1.0, 2.0, 3.0, 4.0])
    assert plotting.rolling_mean(v, 2)[-1] == 3.5  # a running-sum difference gives 4.0 or 0.0
    assert np.allclose(plotting.rolling_mean([1, 2, 3, 4], 3), [1, 1.5, 2, 3])
    assert np.allclose(plotting.rolling_mean([1, 2], 5), [1, 1.5])
    with pytest.raises(ValueError, match="values must be finite"):
        plotting.rolling_mean([1.0, np.nan, 2.0], 2)
    with pytest.raises(ValueError, match="window must be an integer in"):
        plotting.rolling_mean([1.0], 0)
    with pytest.raises(TypeError, match="window must be an integer"):
        plotting.rolling_mean([1.0], 2.5)
