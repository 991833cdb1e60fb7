"""Progress bars that still read right when a notebook is opened without running it.

tqdm's notebook bar is an ipywidget: stored in a notebook it shows as ``0%| 0/150`` (or as
nothing) wherever scripts do not run (JupyterLab before the notebook is trusted, GitHub,
nbviewer), and a bar closed before its total turns red although the loop stopped on purpose.
``bar`` draws tqdm's text bar instead; in a Jupyter kernel it writes to one display output that it
updates in place, so the stored output is the bar's last state, as plain text. Outside a kernel
it writes to stderr like tqdm.

A loop that may stop before its total by design says so with ``stop_early(reason)``: the bar then
closes full (the work is done) and shows the reason::

    with progress.bar(total=cfg.max_updates, desc="REINFORCE", unit="update") as pbar:
        for update in range(cfg.max_updates):
            ...
            pbar.update(1)
            if score >= cfg.stop_at:
                pbar.stop_early(f"eval return {score:.0f} reached stop_at = {cfg.stop_at:.0f}")
                break
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from rlcourse import validate


class _DisplayFile:
    """A file for tqdm that shows its last line in one updatable Jupyter display output."""

    encoding = "utf-8"  # tqdm draws its unicode bar only when the file claims an encoding

    def __init__(self) -> None:
        self._handle = None
        self._line = ""

    def write(self, text: str) -> int:
        # tqdm writes "\r" + the whole bar (space-padded) on every refresh, and "\n" on close.
        parts = [p.rstrip() for p in text.replace("\n", "\r").split("\r")]
        line = next((p for p in reversed(parts) if p), None)
        if line is not None and line != self._line:
            self._line = line
            self._show({"text/plain": line})
        return len(text)

    def _show(self, bundle: dict[str, str]) -> None:
        from IPython.display import display

        if self._handle is None:
            self._handle = display(bundle, raw=True, display_id=True)
        else:
            self._handle.update(bundle, raw=True)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


def _in_kernel() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


class Bar:
    """A tqdm text bar (see the module docstring); use ``bar(...)`` to make one."""

    def __init__(self, iterable: Iterable | None = None, *, total: float | None = None,
                 desc: str | None = None, unit: str = "it", disable: bool = False,
                 file: Any = None) -> None:
        from tqdm.std import tqdm

        if total is not None:  # checked, and passed on as given (an int shows as an int)
            validate.number("total", total, low=0.0)
        if file is None and not disable and _in_kernel():
            file = _DisplayFile()
        self._tqdm = tqdm(iterable, total=total, desc=desc, unit=unit, disable=disable,
                          file=file, dynamic_ncols=False)  # no width: never cut the reason
        self.stopped_early: str | None = None

    @property
    def n(self) -> float:
        """Progress so far (in ``unit``)."""
        return getattr(self._tqdm, "n", 0)

    def __iter__(self) -> Iterator:
        return iter(self._tqdm)

    def update(self, n: float = 1) -> None:
        """Advance by ``n`` units."""
        self._tqdm.update(n)

    def set_postfix(self, **values: Any) -> None:
        """Show ``key=value`` pairs after the bar (e.g. the latest evaluation)."""
        self._tqdm.set_postfix(**values)

    def stop_early(self, reason: str) -> None:
        """Close the bar as finished although it stopped before its total, saying ``reason``.

        The bar shows 100 % of the work done and ``done at N of TOTAL UNIT: reason``.
        """
        if not isinstance(reason, str) or not reason.strip():
            raise ValueError(f"reason must be a non-empty string saying why the loop stopped, "
                             f"got {reason!r}")
        self.stopped_early = reason
        t = self._tqdm
        if not t.disable:
            planned = t.total
            t.total = t.n
            note = f"done at {t.n:g} of {planned:g} {t.unit}s: {reason}" if planned else reason
            t.set_postfix_str(f"{t.postfix}, {note}" if t.postfix else note, refresh=False)
        self.close()

    def close(self) -> None:
        """Draw the final state and release the output (idempotent)."""
        self._tqdm.close()

    def __enter__(self) -> Bar:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def bar(iterable: Iterable | None = None, *, total: float | None = None, desc: str | None = None,
        unit: str = "it", disable: bool = False) -> Bar:
    """A progress bar that displays as plain text, live and when stored (see the module).

    Args:
        iterable: optional, to iterate over as ``tqdm(iterable)`` does.
        total: the planned amount of work in ``unit`` (default: ``len(iterable)`` if it has one).
        desc: a label shown before the bar.
        unit: what one step counts ("step", "update", ...).
        disable: draw nothing (``progress=False`` of the trainers).
    """
    return Bar(iterable, total=total, desc=desc, unit=unit, disable=disable)
