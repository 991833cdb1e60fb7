"""rlcourse.progress: text bars that store their last state, and an early stop that reads as done."""

import io

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from rlcourse import progress


def _last_line(buffer: io.StringIO) -> str:
    return [p.strip() for p in buffer.getvalue().replace("\n", "\r").split("\r") if p.strip()][-1]


def test_a_bar_that_runs_to_its_total_shows_100_percent():
    out = io.StringIO()
    with progress.Bar(total=10, desc="demo", unit="step", file=out) as bar:
        for _ in range(10):
            bar.update(1)
    assert _last_line(out).startswith("demo: 100%") and "10/10" in _last_line(out)


def test_stop_early_closes_full_and_says_why():
    out = io.StringIO()
    bar = progress.Bar(total=150, desc="REINFORCE", unit="update", file=out)
    bar.update(46)
    bar.set_postfix(eval="-180")
    bar.stop_early("eval return -180 reached stop_at = -200")
    line = _last_line(out)
    assert "100%" in line and "46/46" in line, line
    assert "done at 46 of 150 updates: eval return -180 reached stop_at = -200" in line
    assert "eval=-180" in line, "the postfix shown before stays"
    assert bar.stopped_early.startswith("eval return")


def test_a_bar_left_short_without_stop_early_shows_where_it_stopped():
    out = io.StringIO()
    with progress.Bar(total=150, unit="update", file=out) as bar:
        bar.update(46)
    assert "31%" in _last_line(out) and "46/150" in _last_line(out)


def test_iterating_and_disabled_bars():
    out = io.StringIO()
    assert list(progress.Bar(range(3), file=out)) == [0, 1, 2]
    assert "3/3" in _last_line(out)
    silent = progress.bar(total=5, disable=True)
    silent.update(2)
    silent.stop_early("nothing to show")
    assert silent.stopped_early == "nothing to show"


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="total"):
        progress.bar(total=-1)
    with pytest.raises(ValueError, match="reason"):
        progress.Bar(total=3, file=io.StringIO()).stop_early("")


@pytest.mark.slow
def test_in_a_notebook_the_stored_output_is_the_final_text_bar(tmp_path):
    """Run by nbclient as `rlcourse execute` does: one plain-text output, its last state."""
    from nbclient import NotebookClient

    nb = new_notebook(cells=[new_code_cell(
        "from rlcourse import progress\n"
        "with progress.bar(total=150, desc='REINFORCE', unit='update') as bar:\n"
        "    for update in range(150):\n"
        "        bar.update(1)\n"
        "        if update == 45:\n"
        "            bar.stop_early('reached the target')\n"
        "            break\n")])
    NotebookClient(nb, timeout=60, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = nb.cells[0].outputs
    assert [o.output_type for o in outputs] == ["display_data"], outputs
    data = outputs[0].data
    assert set(data) == {"text/plain"}, "no widget, no HTML: text shows everywhere"
    text = data["text/plain"]
    assert text.startswith("REINFORCE: 100%") and "46/46" in text
    assert "done at 46 of 150 updates: reached the target" in text
    nbformat.validate(nb)
