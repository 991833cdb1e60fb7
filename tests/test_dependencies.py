"""environment.yml (conda users) and pyproject.toml (pip users) must list the same packages."""

import re
from pathlib import Path

import yaml
from project_requirements import requirements

ROOT = Path(__file__).resolve().parent.parent
# conda-forge names that differ from PyPI's
CONDA_TO_PYPI = {"pytorch": "torch"}
NOT_PACKAGES = {"python", "pip"}


def _name(requirement: str) -> str:
    """'gymnasium[classic-control]>=1.0' -> 'gymnasium[classic-control]' (normalised)."""
    m = re.match(r"\s*([A-Za-z0-9_.\-]+)(\[[^\]]*\])?", requirement)
    assert m, f"cannot parse requirement {requirement!r}"
    name = m.group(1).lower().replace("_", "-")
    return CONDA_TO_PYPI.get(name, name) + (m.group(2) or "")


def _pyproject() -> set[str]:
    return {_name(r) for r in requirements()}


def _environment_yml() -> set[str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    names = set()
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            names |= {_name(r) for r in dep.get("pip", []) if not r.startswith("-")}
        else:
            names.add(_name(dep))
    return names - NOT_PACKAGES


def test_environment_yml_and_pyproject_name_the_same_packages():
    conda, pip = _environment_yml(), _pyproject()
    assert conda == pip, (f"only in environment.yml: {sorted(conda - pip)}; "
                          f"only in pyproject.toml: {sorted(pip - conda)}")


def test_environment_yml_names_the_core_packages_and_installs_the_course():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    plain = {d.split(">")[0].split("=")[0] for d in env["dependencies"] if isinstance(d, str)}
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    names = plain | {_name(r).split("[")[0] for r in pip if not r.startswith("-")}
    for required in ("python", "jupyterlab", "numpy", "pytorch", "matplotlib", "nbval",
                     "gymnasium"):
        assert required in names, f"environment.yml does not name {required}"
    for package in (".", "./authoring", "./grading"):
        assert f"-e {package}" in pip, f"environment.yml must install the course (pip: -e {package})"


def test_version_bounds_agree():
    def bounds(reqs):
        out = {}
        for r in reqs:
            m = re.search(r"(>=|==|<=|~=)\s*([\w.]+)", r)
            out[_name(r)] = m.group(0).replace(" ", "") if m else None
        return out

    pip_reqs = requirements()
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda_reqs = []
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            conda_reqs += [r for r in dep["pip"] if not r.startswith("-")]
        elif _name(dep) not in NOT_PACKAGES:
            conda_reqs.append(dep)
    assert bounds(conda_reqs) == bounds(pip_reqs)
