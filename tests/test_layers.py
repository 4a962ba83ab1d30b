"""The layers hold: import-linter's contracts pass on the package and fail on a copy that breaks one."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

pytestmark = pytest.mark.skipif(not LINT_IMPORTS.exists(), reason="import-linter is not installed")


def lint(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=root, capture_output=True, text=True, check=False, timeout=120
    )


def copy_of_the_package(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "sessionkit", tmp_path / "sessionkit", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def add_to(module: Path, code: str) -> None:
    module.write_text(module.read_text(encoding="utf-8") + "\n\n" + code, encoding="utf-8")


def test_the_package_keeps_every_contract() -> None:
    result = lint(ROOT)
    assert result.returncode == 0, result.stdout
    assert "3 kept, 0 broken" in result.stdout


def test_a_lazy_import_of_pandas_in_the_core_breaks_the_build(tmp_path: Path) -> None:
    root = copy_of_the_package(tmp_path)
    add_to(root / "sessionkit/core/truth.py", "def _table():\n    import pandas\n\n    return pandas\n")
    result = lint(root)
    assert result.returncode != 0
    assert "sessionkit.core.truth -> pandas" in result.stdout


def test_rendering_that_imports_the_jupyter_layer_breaks_the_build(tmp_path: Path) -> None:
    root = copy_of_the_package(tmp_path)
    add_to(
        root / "sessionkit/render/tables.py",
        "def _views():\n    from sessionkit.jupyter import feed\n\n    return feed\n",
    )
    result = lint(root)
    assert result.returncode != 0
    assert "sessionkit.render.tables -> sessionkit.jupyter.feed" in result.stdout


def test_the_core_that_imports_ipython_breaks_the_build(tmp_path: Path) -> None:
    root = copy_of_the_package(tmp_path)
    add_to(
        root / "sessionkit/core/labels.py",
        "def _shell():\n    from IPython import get_ipython\n\n    return get_ipython\n",
    )
    result = lint(root)
    assert result.returncode != 0
    assert "sessionkit.core.labels -> IPython" in result.stdout


def test_no_module_is_over_about_400_lines() -> None:
    sizes = {
        str(path.relative_to(ROOT)): len(path.read_text(encoding="utf-8").splitlines())
        for pattern in ("*.py", "*.js")  # the views' JavaScript too
        for path in (ROOT / "sessionkit").rglob(pattern)
    }
    assert len(sizes) > 30
    assert any(name.endswith(".js") for name in sizes)
    assert {name: lines for name, lines in sizes.items() if lines > 425} == {}
