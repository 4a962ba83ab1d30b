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
