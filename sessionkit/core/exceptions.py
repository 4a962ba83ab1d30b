"""Errors raised by sessionkit; each also subclasses the matching built-in."""

from __future__ import annotations


class SessionkitError(Exception):
    """Base class of every error sessionkit raises."""


class TargetError(SessionkitError, TypeError):
    """``track()`` was given something that is not a session or session factory."""


class NotMappedError(SessionkitError, TypeError):
    """An object that is not an instance of a mapped class was given."""


class EventNotFoundError(SessionkitError, LookupError):
    """A sequence number names no recorded event."""


class InvalidSettingError(SessionkitError, ValueError):
    """A setting was given a value outside what it accepts."""


class InvalidSettingTypeError(InvalidSettingError, TypeError):
    """A setting was given a value of a type it does not accept (a string for a number, say)."""


def setting_error(message: str, value: object, accepted: type | tuple[type, ...]) -> InvalidSettingError:
    """The error for a bad setting: also a ``TypeError`` when ``value`` is not of an ``accepted`` type."""
    wrong_type = not isinstance(value, accepted) or (isinstance(value, bool) and accepted is not bool)
    return (InvalidSettingTypeError if wrong_type else InvalidSettingError)(message)
