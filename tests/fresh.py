"""Running commands the way a fresh machine would: no Python, virtualenv or pip settings of this run leak in."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path


def fresh_environment() -> dict[str, str]:
    """This process's environment without PYTHON*, VIRTUAL_ENV* and PIP_* settings, on the default database."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTHON", "VIRTUAL_ENV", "PIP_"))}
    env.pop("SESSIONKIT_DATABASE_URL", None)  # the lessons' own default: a temporary SQLite file
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def run_fresh(command: list[str], *, cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    """Run ``command`` in ``cwd`` with :func:`fresh_environment`, capturing its output as text."""
    return subprocess.run(
        command, cwd=cwd, env=fresh_environment(), capture_output=True, text=True, timeout=timeout, check=False
    )
