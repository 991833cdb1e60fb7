"""tools/test_portable.py: its environments switch kernels, and it catches a differing output."""

import importlib.util
import platform
import re
import sys
from pathlib import Path

import nbformat
import pytest
from project_requirements import requirements

ROOT = Path(__file__).resolve().parent.parent
# tools/ is a folder of scripts, not a package: load the script as a module (registered first, as
# dataclasses look their module up in sys.modules).
_spec = importlib.util.spec_from_file_location("portable_tool", ROOT / "tools" / "test_portable.py")
tool = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = tool
_spec.loader.exec_module(tool)

JUNIT_FAILURE = """<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest">
<testcase classname="probe.ipynb" name="Cell 0" time="1.0" />
<testcase classname="probe.ipynb" name="Cell 1" time="0.1"><failure message="x">#x1B[91mNotebook
cell execution failed#x1B[0m
#x1B[94mCell 1: Cell outputs differ

Input:
#x1B[0mprint(value)

#x1B[94mTraceback:#x1B[0m
#x1B[94m mismatch 'stdout'#x1B[91m

 assert reference_output == test_output failed:

  'error 6.1e-10\\n' == 'error 7.1e-10\\n'
  - error 7.1e-10
  ?       ^
  + error 6.1e-10
  ?       ^
#x1B[0m
</failure></testcase>
<testcase classname="probe.ipynb" name="Cell 2" time="0.1"><failure message="y">Cell 2: later</failure>
</testcase></testsuite></testsuites>"""


def test_parse_junit_reports_the_first_failing_cell_with_stored_and_new_output(tmp_path):
    report = tmp_path / "r.xml"
    report.write_text(JUNIT_FAILURE)
    result = tool.parse_junit(report)
    assert not result.passed
    assert result.cells == 3
    assert result.failures == ["Cell 1: Cell outputs differ", "Cell 2: later"]
    assert result.diff == ["stored: error 6.1e-10", "now:    error 7.1e-10"]
    assert result.short() == "FAIL Cell 1 +1"


def test_parse_junit_passes_only_when_cells_ran_and_none_failed(tmp_path):
    report = tmp_path / "r.xml"
    report.write_text('<testsuites><testsuite><testcase name="Cell 0"/><testcase name="Cell 1"/>'
                      "</testsuite></testsuites>")
    assert tool.parse_junit(report).passed
    report.write_text("<testsuites><testsuite></testsuite></testsuites>")
    assert not tool.parse_junit(report).passed, "a notebook with no collected cell must not pass"
    assert not tool.parse_junit(tmp_path / "missing.xml").passed, "a crashed pytest must not pass"


def test_environments_cover_the_kernels_and_thread_counts_the_course_must_not_depend_on():
    settings = list(tool.ENVIRONMENTS.values())
    cores = {s.get("OPENBLAS_CORETYPE") for s in settings}
    assert {"Haswell", "SkylakeX", "Sandybridge"} <= cores
    assert {"avx2", "default"} <= {s.get("ATEN_CPU_CAPABILITY") for s in settings}
    assert tool.TEST_ENV["OMP_NUM_THREADS"] == "1"
    assert "2" in {s.get("OMP_NUM_THREADS") for s in settings}
    assert tool.ENVIRONMENTS["default"] == {}
    for name in tool.QUICK:  # CI's run must differ from the plain `make test`
        assert tool.ENVIRONMENTS[name], f"--quick environment {name} changes nothing"


def test_select_notebooks_by_prefix_and_refuses_an_unknown_one():
    assert [nb.name for nb in tool.select_notebooks(["01"])] == ["01_update_equation.ipynb"]
    assert len(tool.select_notebooks(None)) == len(list((ROOT / "solutions").glob("*.ipynb")))
    with pytest.raises(SystemExit, match="'99'"):
        tool.select_notebooks(["99"])


def test_format_table_shows_each_environment_and_the_first_difference():
    nb = Path("solutions/01_update_equation.ipynb")
    table = {"default": {nb: tool.Result(passed=True, cells=26)},
             "openblas-skylakex": {nb: tool.Result(False, 26, ["Cell 11: Cell outputs differ"],
                                                   ["stored: 6.1e-10", "now:    7.1e-10"])}}
    text = tool.format_table(table, {"openblas-skylakex": "openblas=SkylakeX"})
    assert re.search(r"default\s+pass \(26\)", text)
    assert re.search(r"openblas-skylakex\s+FAIL Cell 11", text)
    assert "OPENBLAS_CORETYPE=SkylakeX -> openblas=SkylakeX" in text
    assert "openblas-skylakex / 01_update_equation.ipynb / Cell 11: Cell outputs differ" in text
    assert "now:    7.1e-10" in text


def _lower_bounds() -> dict[str, str]:
    bounds = {}
    for req in requirements():
        m = re.fullmatch(r"([A-Za-z0-9_.\-]+)(\[[^\]]*\])?>=([0-9.]+)", req.replace(" ", ""))
        assert m, f"pyproject.toml: {req!r} has no plain lower bound (name>=version)"
        bounds[m.group(1).lower()] = m.group(3)
    return bounds


def test_lowest_constraints_pin_exactly_the_lower_bounds_of_pyproject():
    pins = {}
    for line in (ROOT / "constraints" / "lowest.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.split("==")
            pins[name.strip().lower()] = version.strip()
    bounds = _lower_bounds()
    assert set(pins) == set(bounds)
    for name, bound in bounds.items():
        # "1.24" allows 1.24.0: compare release tuples padded with zeros
        padded = [tuple(int(p) for p in v.split(".")) + (0,) * 3 for v in (pins[name], bound)]
        assert padded[0][:3] == padded[1][:3], f"{name}: lowest.txt pins {pins[name]}, bound {bound}"


@pytest.mark.slow
@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="x86 kernel names")
def test_environment_variables_really_switch_kernels_and_threads():
    assert "openblas=Sandybridge" in tool.probe("openblas-sandybridge")
    assert "aten=DEFAULT" in tool.probe("aten-default")
    assert "torch_threads=2" in tool.probe("threads-2")
    assert "torch_threads=1" in tool.probe("default")


@pytest.mark.slow
def test_a_notebook_whose_output_depends_on_the_environment_fails_there_only(
        tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("PORTABLE_PROBE", raising=False)
    monkeypatch.setitem(tool.ENVIRONMENTS, "probe-set", {"PORTABLE_PROBE": "set"})
    stable = nbformat.v4.new_code_cell("print(6 * 7)", execution_count=1, outputs=[
        nbformat.v4.new_output("stream", name="stdout", text="42\n")])
    varying = nbformat.v4.new_code_cell(
        'import os\nprint("probe", os.environ.get("PORTABLE_PROBE", "unset"))', execution_count=2,
        outputs=[nbformat.v4.new_output("stream", name="stdout", text="probe unset\n")])
    notebook = tmp_path / "probe.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[stable, varying]), notebook)

    code = tool.main(["--envs", "default", "probe-set", "--notebooks", str(notebook), "-j", "2",
                      "--keep", str(tmp_path / "logs")])
    out = capsys.readouterr().out
    assert code == 1
    assert re.search(r"default\s+pass \(2\)", out)
    assert re.search(r"probe-set\s+FAIL Cell 1", out)
    assert "stored: probe unset" in out and "now:    probe set" in out
    assert "FAILED: outputs differ" in out
