"""The built wheel, installed in a fresh environment, draws the live view in a real JupyterLab.

The wheel must carry the views' JavaScript and CSS (``sessionkit/jupyter/static``): an
editable install reads them from the source tree and would hide a file left out of it.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sessionkit.jupyter.widget import MODULE_PARTS
from tests.browser.conftest import (
    REPO_ROOT,
    JupyterServer,
    LabNotebook,
    _server_env,
    _start_server,
    _stop_server,
    save_screenshot,
)
from tests.browser.helpers import SETUP, STEPS, TRACK, identity_map, wait_for_tokens

pytestmark = [pytest.mark.browser, pytest.mark.slow]

#: Minutes building the wheel and its environment may take (pip reuses its cache).
BUILD_TIMEOUT = 15 * 60

#: The cells of the lesson, without the line that puts the source tree on ``sys.path``.
WHEEL_SETUP = "\n".join(line for line in SETUP.splitlines() if "sys.path.insert" not in line)
WHERE = "import sessionkit, sessionkit.jupyter.live as live\nprint(sessionkit.__file__, live.LiveView._esm)"


def run(*command: str | Path, cwd: Path) -> str:
    result = subprocess.run(
        [str(part) for part in command], cwd=cwd, capture_output=True, text=True, check=False, timeout=BUILD_TIMEOUT
    )
    assert result.returncode == 0, f"{command} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", dist, REPO_ROOT, cwd=dist)
    (built,) = dist.glob("sessionkit-*.whl")
    return built


@pytest.fixture(scope="module")
def wheel_python(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    venv = tmp_path_factory.mktemp("wheel-env") / "venv"
    run(sys.executable, "-m", "venv", venv, cwd=venv.parent)
    python = venv / "bin" / "python"
    run(python, "-m", "pip", "install", "-q", f"{wheel}[notebooks]", cwd=venv.parent)
    return str(python)


@pytest.fixture(scope="module")
def wheel_server(wheel_python: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    base = tmp_path_factory.mktemp("wheel-jupyter")
    root = base / "root"
    root.mkdir()
    server = _start_server(base, _server_env(base, wheel_python), root, wheel_python)
    try:
        yield server
    finally:
        _stop_server(server)


def test_the_wheel_carries_the_views_javascript_and_css(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {name for name in names if name.startswith("sessionkit/jupyter/static/")}
    in_tree = {f"sessionkit/jupyter/static/{path.name}" for path in (REPO_ROOT / "sessionkit/jupyter/static").iterdir()}
    static = {f"sessionkit/jupyter/static/{name}" for name in (*MODULE_PARTS, "view.css")}
    assert static <= shipped
    assert shipped == in_tree


def test_the_installed_wheel_draws_the_live_view(wheel_server: JupyterServer, browser_page: Any) -> None:
    view_cell = 3
    cells = [WHEEL_SETUP, WHERE, TRACK, "%sessionkit view", STEPS[0][1]]
    wheel_server.write_notebook("wheel.ipynb", cells)
    nb = LabNotebook(wheel_server, browser_page, "wheel.ipynb").open()
    try:
        for index in range(len(cells) - 1):
            nb.run_cell(index)
        where = nb.output(1).inner_text()
        assert "site-packages/sessionkit/__init__.py" in where
        assert str(REPO_ROOT) not in where  # the wheel's own files, not the source tree's
        wait_for_tokens(browser_page, nb.CELL_SELECTOR, view_cell, {})
        nb.run_cell(len(cells) - 1)
        expected = STEPS[0][2]
        wait_for_tokens(browser_page, nb.CELL_SELECTOR, view_cell, expected)
        assert identity_map(nb.output(view_cell)) == expected
        save_screenshot(nb.output(view_cell), "wheel-live-view")
    finally:
        if nb.kernel_id:
            wheel_server.shutdown_kernel(nb.kernel_id)
