"""nbval for the notebooks: strict mode, the committed sanitize file, a kernel of this interpreter.

``pyproject.toml`` loads this plugin for every pytest run (``addopts = ["-p", ...]``), so that
``notebooks/`` holds the lessons alone and every way of running them (plain ``pytest``, whose
testpaths include notebooks/, ``pytest notebooks/`` or ``pytest --nbval notebooks/``) compares
them the same way:

* ``--nbval`` (strict: every output compared) unless ``--nbval-lax`` was asked for;
* ``--nbval-sanitize-with tests/notebooks/nbval-sanitize.cfg`` unless another file was named;
* ``--nbval-current-env`` unless ``--nbval-kernel-name`` was given: the kernel is the Python
  running pytest, so the notebooks test the sessionkit installed there;
* a cell timeout of 120 s instead of nbval's 2000 s, unless one was given.

Without nbval installed this does nothing and the notebooks are not collected. When the run
ends, the temporary SQLite folders of the kernels nbval killed are removed
(:func:`sessionkit.teaching.remove_left_behind`): a test run leaves nothing behind.
"""

from __future__ import annotations

from pathlib import Path

import pytest

SANITIZE = Path(__file__).with_name("nbval-sanitize.cfg")
CELL_TIMEOUT = 120.0
NBVAL_DEFAULT_CELL_TIMEOUT = 2000


def pytest_configure(config: pytest.Config) -> None:
    """Turn on nbval's strict mode with this folder's settings, leaving explicit choices alone."""
    option = config.option
    if not hasattr(option, "nbval"):
        return  # nbval is not installed
    if not option.nbval_lax:
        option.nbval = True
    if option.nbval_sanitize_with is None:
        option.nbval_sanitize_with = str(SANITIZE)
    if option.nbval_kernel_name is None:
        option.nbval_current_env = True
    if option.nbval_cell_timeout == NBVAL_DEFAULT_CELL_TIMEOUT:
        option.nbval_cell_timeout = CELL_TIMEOUT


def pytest_unconfigure(config: pytest.Config) -> None:  # noqa: ARG001 - pytest's signature
    """Remove the temporary databases of the kernels nbval stopped with SIGKILL."""
    from sessionkit.teaching import remove_left_behind

    remove_left_behind()
