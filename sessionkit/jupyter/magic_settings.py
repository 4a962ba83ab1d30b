"""The settings of the ``%sessionkit`` magics: their checks, the error a bad value raises, the shell's config screened.

The settings are traitlets of ``SessionkitMagics`` (``%config SessionkitMagics.max_tokens = 6``),
checked when set: a value out of range raises ``SettingError``, so traitlets rolls the change
back and IPython shows one sentence without a traceback. A value out of range in the shell's
own configuration is said in one line and left out, so the extension still loads.
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Callable
from typing import Any

from IPython.core.error import UsageError
from traitlets import TraitError
from traitlets.config import Config

from sessionkit.core.exceptions import InvalidSettingError
from sessionkit.jupyter.settings import check_log_length, check_redraw_rate, check_show_sql
from sessionkit.render.diagram import check_max_tokens

__all__ = ["CHECKS", "SettingError", "checked", "config_without_bad_settings"]


class SettingError(InvalidSettingError, TraitError, UsageError):
    """A ``%config SessionkitMagics`` value out of range.

    A ``TraitError``, so traitlets rolls the change back; a ``UsageError``, so IPython shows
    the sentence without a traceback; an ``InvalidSettingError`` like sessionkit's others.
    """


#: The check of each setting, by name: it returns the value to keep or raises ``InvalidSettingError``.
CHECKS: dict[str, Callable[[Any], Any]] = {
    "max_tokens": check_max_tokens,
    "max_redraws_per_second": check_redraw_rate,
    "show_sql": check_show_sql,
    "log_length": check_log_length,
}


def checked(name: str, value: Any) -> Any:
    """The value setting ``name`` keeps for ``value``; ``SettingError`` if it is out of range."""
    try:
        return CHECKS[name](value)
    except InvalidSettingError as error:
        raise SettingError(str(error)) from None


def config_without_bad_settings(config: Config, section: str) -> Config:
    """A copy of ``config`` less the values of ``section`` out of range, each said in one line.

    Rejected while loading, such a value would stop the extension loading with a traceback.
    """
    config = copy.deepcopy(config)
    values = config.get(section)
    for name, check in CHECKS.items():
        if values is not None and name in values:
            try:
                check(values[name])
            except InvalidSettingError as error:
                print(f"{error} sessionkit uses the default instead.", file=sys.stderr)  # noqa: T201
                del values[name]
    return config
