"""Plots the notebooks share: learning curves (with seed bands), rolling means, filmstrips, GIFs.

Every function draws on an ``ax`` you pass (or a new one) and returns it, so notebooks control
layout; axes are always labelled.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rlcourse import validate


def _axes(ax=None):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(6, 3.5))
    return ax


def rolling_mean(values: Sequence[float], window: int) -> np.ndarray:
    """Mean of the last ``window`` values at every index (shorter at the start), shape (len,).

    Each mean is taken over its own window (not as a difference of running sums, which would
    lose every small value after a large one); NaN or ±inf values are refused, since one would
    spread over every later mean.
    """
    w = validate.integer("window", window, low=1)
    v = validate.array("values", values, ndim=1, dtype="float", finite=True)
    out = np.empty(v.size)
    head = min(w - 1, v.size)
    out[:head] = np.cumsum(v[:head]) / np.arange(1, head + 1)
    if v.size >= w:
        out[w - 1:] = np.lib.stride_tricks.sliding_window_view(v, w).mean(axis=1)
    return out


def learning_curve(returns: Sequence[float], window: int = 20, x: Sequence[float] | None = None,
                   ax=None, label: str | None = None, xlabel: str = "episode",
                   ylabel: str = "return"):
    """Raw episode returns (faint) and their rolling mean over ``window`` episodes."""
    y = validate.array("returns", returns, ndim=1, dtype="float", finite=True)
    window = validate.integer("window", window, low=1)
    xs = np.arange(y.size) if x is None else validate.array("x", x, shape=(y.size,))
    ax = _axes(ax)
    line = ax.plot(xs, y, alpha=0.25, lw=0.8)[0]
    ax.plot(xs, rolling_mean(y, window), color=line.get_color(),
            label=label or f"rolling mean ({window})")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(loc="best")
    return ax


def curves_with_band(x: Sequence[float], runs: np.ndarray, ax=None, label: str | None = None,
                     band: str = "std", xlabel: str = "env steps", ylabel: str = "return",
                     color=None):
    """Mean over runs with a shaded band: ``runs`` has shape (n_runs, len(x)).

    ``band`` is ``"std"`` (±1 standard deviation across runs), ``"sem"`` (±1 standard error of
    the mean) or ``"minmax"``.
    """
    xs = validate.array("x", x, ndim=1)
    r = validate.array("runs", runs, dtype="float", finite=True)
    if r.ndim != 2 or r.shape[1] != len(xs):
        raise ValueError(f"runs must have shape (n_runs, {len(xs)}), got {r.shape}")
    validate.choice("band", band, ("std", "sem", "minmax"))
    ax = _axes(ax)
    mean = r.mean(axis=0)
    if band == "std":
        lo, hi = mean - r.std(axis=0), mean + r.std(axis=0)
    elif band == "sem":
        sem = r.std(axis=0, ddof=1) / np.sqrt(r.shape[0]) if r.shape[0] > 1 else 0 * mean
        lo, hi = mean - sem, mean + sem
    else:  # "minmax"
        lo, hi = r.min(axis=0), r.max(axis=0)
    line = ax.plot(x, mean, label=label, color=color)[0]
    ax.fill_between(x, lo, hi, color=line.get_color(), alpha=0.2, lw=0)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if label:
        ax.legend(loc="best")
    return ax


def filmstrip(frames: Sequence[np.ndarray], n: int = 6, title: str | None = None,
              step_labels: Sequence[int] | None = None):
    """Show ``n`` evenly spaced RGB frames (each (H, W, 3) uint8) side by side; returns the figure."""
    import matplotlib.pyplot as plt

    n = validate.integer("n", n, low=1)
    if len(frames) == 0:
        raise ValueError("frames is empty")
    idx = np.linspace(0, len(frames) - 1, min(n, len(frames))).round().astype(int)
    fig, axes = plt.subplots(1, len(idx), figsize=(2.2 * len(idx), 2.4))
    for ax, i in zip(np.atleast_1d(axes), idx):
        ax.imshow(frames[i])
        ax.set_title(f"t = {step_labels[i] if step_labels is not None else i}", fontsize=9)
        ax.axis("off")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def animation_gif(frames: Sequence[np.ndarray], fps: float = 30) -> bytes:
    """An animated GIF (looping) of RGB frames, each (H, W, 3) uint8; returns the file's bytes.

    A GIF displays wherever a notebook is shown, as stored and without running scripts
    (JupyterLab before the notebook is trusted, GitHub, nbviewer), and loads nothing from the
    internet. Pillow quantises each frame to at most 256 colours, plenty for rendered scenes.
    """
    import io

    from PIL import Image

    fps = validate.number("fps", fps, low=0.0, low_open=True)
    if len(frames) == 0:
        raise ValueError("frames is empty")
    images = []
    for i, frame in enumerate(frames):
        f = np.asarray(frame)
        if f.ndim != 3 or f.shape[2] != 3 or f.dtype != np.uint8:
            raise ValueError(f"frames[{i}] must be an (H, W, 3) uint8 RGB image, got shape "
                             f"{f.shape} and dtype {f.dtype}")
        if f.shape != np.shape(frames[0]):
            raise ValueError(f"frames[{i}] has shape {f.shape}, frames[0] {np.shape(frames[0])}")
        images.append(Image.fromarray(f))
    buffer = io.BytesIO()
    images[0].save(buffer, format="GIF", save_all=True, append_images=images[1:],
                   duration=round(1000 / fps), loop=0)
    return buffer.getvalue()


def animation(frames: Sequence[np.ndarray], fps: float = 30):
    """The frames as an animated GIF for a notebook (an ``image/gif`` output; see
    ``animation_gif``): ``display(plotting.animation(frames))`` or a cell's last line."""
    from IPython.display import Image

    return Image(data=animation_gif(frames, fps), format="gif")


def animation_html(frames: Sequence[np.ndarray], fps: float = 30) -> str:
    """The frames as an ``<img>`` tag holding an animated GIF as a data URI, for
    ``IPython.display.HTML``: no script, nothing loaded from the internet (see ``animation_gif``).
    ``animation`` gives the same GIF as an ``image/gif`` output.
    """
    import base64

    data = base64.b64encode(animation_gif(frames, fps)).decode("ascii")
    return f'<img src="data:image/gif;base64,{data}" alt="animation, {len(frames)} frames">'
