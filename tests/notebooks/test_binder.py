"""binder/ holds everything a BinderHub needs: a fresh environment built from it alone runs every notebook."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fresh import fresh_environment, run_fresh

ROOT = Path(__file__).resolve().parents[2]
BINDER = ROOT / "binder"

#: Minutes the environment build may take (most of it is pip, which reuses its cache).
BUILD_TIMEOUT = 20 * 60

#: What every notebook does first: track a session factory.
TRACK_PROBE = "from sqlalchemy.orm import sessionmaker; import sessionkit; sessionkit.track(sessionmaker()).stop()"


def runtime_version() -> tuple[int, int]:
    text = (BINDER / "runtime.txt").read_text(encoding="utf-8").strip()
    found = re.fullmatch(r"python-(\d+)\.(\d+)", text)
    assert found, f"runtime.txt must read python-X.Y (repo2docker's form), not {text!r}"
    return int(found[1]), int(found[2])


def test_binder_holds_only_what_repo2docker_reads() -> None:
    assert sorted(p.name for p in BINDER.iterdir()) == ["requirements.txt", "runtime.txt"]
    assert not (BINDER / "apt.txt").exists()  # pygraphviz's wheels bundle Graphviz


def test_the_runtime_is_one_sessionkit_supports() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    found = re.search(r'^requires-python = ">=(\d+)\.(\d+)"$', pyproject, flags=re.MULTILINE)
    assert found
    assert runtime_version() >= (int(found[1]), int(found[2]))


def test_the_requirements_install_this_repository_with_its_notebook_extra() -> None:
    lines = [
        line.split("#", 1)[0].strip()
        for line in (BINDER / "requirements.txt").read_text(encoding="utf-8").splitlines()
        if line.split("#", 1)[0].strip()
    ]
    assert lines == [".[notebooks]"]
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(r'^notebooks = \["jupyterlab[^"]*"', pyproject, flags=re.MULTILINE)


def interpreter() -> str:
    """The Python that runtime.txt names, when this machine has it; else the one running the tests."""
    major, minor = runtime_version()
    return shutil.which(f"python{major}.{minor}") or sys.executable


@pytest.mark.slow
def test_a_fresh_environment_from_binder_alone_runs_every_notebook(tmp_path: Path) -> None:
    venv = tmp_path / "binder-env"
    python = venv / "bin" / "python"
    env = fresh_environment()  # as on Binder: nothing configured

    def run(*command: str | Path, cwd: Path = ROOT) -> str:
        result = run_fresh([str(part) for part in command], cwd=cwd, timeout=BUILD_TIMEOUT)
        assert result.returncode == 0, f"{' '.join(map(str, command))} failed:\n{result.stdout}\n{result.stderr}"
        return result.stdout

    run(interpreter(), "-m", "venv", venv)
    # As repo2docker does: pip, from the repository root, with binder/requirements.txt and nothing else.
    run(python, "-m", "pip", "install", "--quiet", "-r", BINDER / "requirements.txt")

    installed = run(python, "-c", "import sessionkit; print(sessionkit.__file__)", cwd=tmp_path).strip()
    assert Path(installed).is_relative_to(venv), f"sessionkit came from {installed}, not the new environment"
    probe = subprocess.run(
        [str(python), "-c", TRACK_PROBE], cwd=tmp_path, env=env, capture_output=True, text=True, check=False
    )
    assert probe.returncode == 0, f"sessionkit.track() fails in the Binder environment:\n{probe.stderr}"
    kernels = run(python, "-m", "jupyter", "kernelspec", "list")
    assert "python3" in kernels

    # Every notebook, top to bottom, in a kernel of the new environment; --check writes nothing.
    report = run(python, ROOT / "scripts" / "execute_notebooks.py", "--check")
    notebooks = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
    assert [line.split()[1] for line in report.splitlines()] == notebooks
