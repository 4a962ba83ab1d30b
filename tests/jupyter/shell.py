"""The real IPython shell the magics are tested through: run a cell as a learner would, find the magics."""

from __future__ import annotations

from typing import Any

from sessionkit.jupyter.magics import SessionkitMagics


def run_cell(ip: Any, code: str) -> Any:
    """Run ``code`` as a cell, re-raising what went wrong (IPython would only print it)."""
    result = ip.run_cell(code)
    result.raise_error()
    return result.result


def magics(ip: Any) -> SessionkitMagics:
    found = ip.magics_manager.registry[SessionkitMagics.__name__]
    assert isinstance(found, SessionkitMagics)
    return found
