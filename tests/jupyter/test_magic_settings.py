"""The magics' settings: traitlets checked when set, SettingError, the IPython config screened at loading."""

from __future__ import annotations

import re
from typing import Any

import pytest
from IPython.core.error import UsageError
from traitlets import TraitError

from sessionkit import InvalidSettingError
from sessionkit.jupyter.magics import SettingError
from tests.jupyter.shell import magics, run_cell


def test_settings_are_configurable_and_validated(shell: Any, caplog: Any) -> None:
    found = magics(shell)
    assert (found.max_tokens, found.max_redraws_per_second, found.show_sql, found.log_length) == (12, 10.0, True, 20)
    run_cell(shell, "%config SessionkitMagics.max_tokens = 4")
    assert found.max_tokens == 4
    for bad in ("max_tokens = 0", "max_redraws_per_second = 0", "max_redraws_per_second = 61", "log_length = -1"):
        run_cell(shell, f"%config SessionkitMagics.{bad}")  # %config prints the error; nothing changes
    run_cell(shell, "%config SessionkitMagics.show_sql = 'yes'")
    assert (found.max_tokens, found.max_redraws_per_second, found.show_sql, found.log_length) == (4, 10.0, True, 20)
    assert "max_tokens must be a whole number of at least 1" in caplog.text
    assert "max_redraws_per_second must be a number above 0 and at most 60" in caplog.text


def test_a_bad_setting_is_a_trait_usage_and_setting_error(shell: Any) -> None:
    found = magics(shell)
    with pytest.raises(SettingError) as caught:
        found.max_tokens = 0
    assert isinstance(caught.value, TraitError)
    assert isinstance(caught.value, UsageError)
    assert isinstance(caught.value, InvalidSettingError)
    assert found.max_tokens == 12
    with pytest.raises(UsageError, match="max_tokens must be a whole number"):
        run_cell(shell, "get_ipython().magics_manager.registry['SessionkitMagics'].max_tokens = -3")


def test_settings_come_from_the_ipython_config(ip: Any, shell: Any) -> None:
    run_cell(shell, "%unload_ext sessionkit")
    ip.config.SessionkitMagics.max_tokens = 7
    try:
        run_cell(shell, "%load_ext sessionkit")
        assert magics(shell).max_tokens == 7
    finally:
        ip.config.pop("SessionkitMagics", None)


def test_a_bad_setting_in_the_ipython_config_is_said_once_and_the_default_used(
    ip: Any, shell: Any, capsys: Any
) -> None:
    run_cell(shell, "%unload_ext sessionkit")
    ip.config.SessionkitMagics.max_tokens = 0
    ip.config.SessionkitMagics.show_sql = "yes"
    ip.config.SessionkitMagics.log_length = 7
    try:
        capsys.readouterr()
        run_cell(shell, "%load_ext sessionkit")  # loads, with no traceback
        assert (magics(shell).max_tokens, magics(shell).show_sql, magics(shell).log_length) == (12, True, 7)
        err = capsys.readouterr().err
        assert err.splitlines() == [
            (
                "max_tokens must be a whole number of at least 1 (tokens drawn per state), but was given 0. "
                "sessionkit uses the default instead."
            ),
            "show_sql must be True or False, but was given 'yes'. sessionkit uses the default instead.",
        ]
        assert ip.config.SessionkitMagics.max_tokens == 0  # the shell's own configuration is left as it was
        run_cell(shell, "%sessionkit")
    finally:
        ip.config.pop("SessionkitMagics", None)


def test_help_lists_the_settings(shell: Any, capsys: Any) -> None:
    run_cell(shell, "%config SessionkitMagics")
    out = capsys.readouterr().out
    for name in ("max_tokens", "max_redraws_per_second", "show_sql", "log_length"):
        assert f"SessionkitMagics.{name}" in out
    assert re.search(r"Tokens drawn in each state box", out)
