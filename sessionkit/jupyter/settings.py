"""The settings of the views and the magics, each checked when set."""

from __future__ import annotations

from sessionkit.core.exceptions import setting_error

DEFAULT_MAX_REDRAWS_PER_SECOND = 10.0
#: The fastest redraw rate a view accepts (a browser cannot show more anyway).
REDRAW_RATE_LIMIT = 60.0
#: The longest pause a playing replay makes between two steps (a minute).
INTERVAL_LIMIT_MS = 60_000


def check_redraw_rate(value: object) -> float:
    """Validate the most redraws per second a live view may make."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= REDRAW_RATE_LIMIT:
        msg = (
            f"max_redraws_per_second must be a number above 0 and at most {REDRAW_RATE_LIMIT:g}, "
            f"but was given {value!r}; 10 is the default."
        )
        raise setting_error(msg, value, (int, float))
    return float(value)


def check_log_length(value: object) -> int:
    """Validate how many recent events a view lists."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        msg = f"log_length must be a whole number of at least 1 (events listed), but was given {value!r}."
        raise setting_error(msg, value, int)
    return value


def check_seq(value: object, what: str) -> int:
    """Validate the seq number of an event given to ``what``."""
    if isinstance(value, bool) or not isinstance(value, int):
        msg = f"{what} needs the seq number of an event (a whole number), but was given {value!r}."
        raise setting_error(msg, value, int)
    return value


def check_show_sql(value: object) -> bool:
    """Validate the switch that shows or hides the SQL of each flush."""
    if not isinstance(value, bool):
        msg = f"show_sql must be True or False, but was given {value!r}."
        raise setting_error(msg, value, bool)
    return value


def check_interval_ms(value: object) -> int:
    """Validate the milliseconds a replay waits between two steps while it plays."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= INTERVAL_LIMIT_MS:
        msg = (
            f"interval_ms must be a whole number of milliseconds above 0 and at most {INTERVAL_LIMIT_MS}, "
            f"but was given {value!r}; 800 is the default."
        )
        raise setting_error(msg, value, int)
    return value
