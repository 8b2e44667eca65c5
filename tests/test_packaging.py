"""The environment is described twice (pyproject for pip, environment.yml for conda): they agree."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _name(req: str) -> str:
    return re.split(r"[<>=!~\[ ;]", req.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _pyproject_requirements() -> dict[str, str]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    reqs = data["project"]["dependencies"] + data["project"]["optional-dependencies"]["dev"]
    return {_name(r): r.replace(" ", "") for r in reqs}


def _conda_pip_requirements() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    return {_name(r): r.replace(" ", "") for r in pip_section if not r.startswith("-e")}


def test_environment_yml_matches_pyproject():
    assert _conda_pip_requirements() == _pyproject_requirements()


def test_environment_yml_pins_python_311():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert "python=3.11" in env["dependencies"]


def test_pins_that_matter():
    reqs = _pyproject_requirements()
    assert reqs["torch"] == "torch==2.13.*"
    assert reqs["jupyter-book"] == "jupyter-book>=1,<2"
    assert reqs["opencv-contrib-python-headless"].endswith("<5")
    for needed in ("dlib-bin", "face-recognition-models", "captum", "papermill", "jupytext",
                   "nbmake", "seaborn", "pandas", "openpyxl", "scikit-learn", "tqdm", "pytest"):
        assert needed in reqs, needed


def test_console_script_and_ci_use_readme_command():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert data["project"]["scripts"]["stag"] == "stag.cli:main"
    ci = (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "make test" in ci.splitlines()[-1]
    assert "make test" in readme and "make book" in readme
