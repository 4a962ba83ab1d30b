# ruff: noqa: INP001 - a conftest, not a package
"""nbval for the notebooks: strict mode, the committed sanitize file, a kernel of this interpreter.

pytest loads this file whenever it collects anything under notebooks/ (plain ``pytest``, whose
testpaths include notebooks/, or ``pytest --nbval notebooks/``), so every way of running the
notebooks compares them the same way, from any working directory:

* ``--nbval`` (strict: every output compared) unless ``--nbval-lax`` was asked for;
* ``--nbval-sanitize-with notebooks/nbval-sanitize.cfg`` unless another file was named;
* ``--nbval-current-env`` unless ``--nbval-kernel-name`` was given: the kernel is the Python
  running pytest, so the notebooks test the sessionkit installed there;
* a cell timeout of 120 s instead of nbval's 2000 s, unless one was given.

Without nbval installed this does nothing and the notebooks are not collected.
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
