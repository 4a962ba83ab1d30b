"""``%load_ext sessionkit``: the ``%sessionkit`` line magic and the ``%%sessionkit`` cell magic.

>>> from IPython.testing.globalipapp import get_ipython
>>> ip = get_ipython()
>>> ip.run_line_magic("load_ext", "sessionkit")
>>> "sessionkit" in ip.magics_manager.magics["line"]
True
>>> ip.run_line_magic("unload_ext", "sessionkit")
>>> "sessionkit" in ip.magics_manager.magics["line"]
False

Settings are traitlets of ``SessionkitMagics`` (``%config SessionkitMagics.max_tokens = 6``),
validated when set (``magic_settings``). Learner mistakes raise IPython's ``UsageError``: one
sentence, no traceback, and nothing changed. ``%%sessionkit`` shows a ``cell_report``.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast

from IPython.core import magic_arguments as _arguments
from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class
from sqlalchemy.orm import Session
from traitlets import Bool, Float, Int, observe, validate
from traitlets.config.configurable import Configurable

from sessionkit import Tracker, track
from sessionkit.core.exceptions import SessionkitError
from sessionkit.core.targets import model_kind, model_targets, resolve
from sessionkit.jupyter.cell_report import report_cell
from sessionkit.jupyter.feed import detach_views
from sessionkit.jupyter.magic_settings import SettingError, checked, config_without_bad_settings
from sessionkit.jupyter.magic_usage import EXAMPLES, SUBCOMMANDS, USAGE, parse_error
from sessionkit.jupyter.settings import DEFAULT_MAX_REDRAWS_PER_SECOND
from sessionkit.render.diagram import DEFAULT_MAX_TOKENS
from sessionkit.render.panels import (
    DEFAULT_LOG_LENGTH,
    StaticView,
    log_html,
    log_lines,
    objects_html,
    objects_text,
    sql_groups,
    sql_html,
    sql_text,
)

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

    from sessionkit.jupyter.views import LiveView, ReplayView
    from sessionkit.render.diagram import StateDiagram

__all__ = ["SessionkitMagics", "SettingError", "load_ipython_extension", "unload_ipython_extension"]

#: The name a tracker of every ``Session`` is kept under (``%sessionkit track`` with no NAME).
EVERY_SESSION = ""
#: Rows ``%sessionkit map`` lists.
MAP_ROWS = 200

_F = TypeVar("_F", bound=Callable[..., Any])


class _Decorator(Protocol):
    def __call__(self, function: _F, /) -> _F: ...


# IPython's magic_arguments has no annotations: say what they are, once.
magic_arguments = cast("Callable[[], _Decorator]", _arguments.magic_arguments)
argument = cast("Callable[..., _Decorator]", _arguments.argument)
parse_argstring = cast("Callable[[Any, str], Any]", _arguments.parse_argstring)


def _named(name: str) -> _Decorator:
    """Give a parser the magic's name (magic_arguments takes the function's name otherwise)."""

    def mark(function: _F) -> _F:
        function.argcmd_name = name  # type: ignore[attr-defined]
        return function

    return mark


@magic_arguments()
@argument("subcommand", nargs="?", help="track, view, diagram, log, sql, map, replay or stop")
@argument("name", nargs="?", help="track: a session in the notebook; the others: a tracked name")
@argument("--models", metavar="BASE", help="track: a declarative base, so new objects show as transient")
@argument("-n", type=int, metavar="N", help="log: how many recent events to list")
@argument("--side", action="store_true", help="view: in a JupyterLab side panel, in sight as you work further down")
@_named("sessionkit")
def _line_arguments() -> None:
    """Watch a SQLAlchemy Session (%sessionkit alone: what is tracked, and this help)."""


@magic_arguments()
@argument("name", nargs="?", help="a tracked name, or a session in the notebook to watch for this cell only")
@_named("%sessionkit")
def _cell_arguments() -> None:
    """Run the cell, then show its events, its SQL and the diagram before and after."""


@magics_class
class SessionkitMagics(Magics, Configurable):
    """``%sessionkit`` and ``%%sessionkit``: watch a SQLAlchemy Session from a notebook.

    Trackers and views live on this instance; ``%unload_ext sessionkit`` stops and detaches them.
    """

    max_tokens = Int(DEFAULT_MAX_TOKENS, help="Tokens drawn in each state box before '+N more'.").tag(config=True)
    max_redraws_per_second = Float(
        DEFAULT_MAX_REDRAWS_PER_SECOND, help="The most times a second a live view redraws (above 0, at most 60)."
    ).tag(config=True)
    show_sql = Bool(default_value=True, help="Show the SQL of each flush in views and %%sessionkit reports.").tag(
        config=True
    )
    log_length = Int(DEFAULT_LOG_LENGTH, help="Events %sessionkit log lists without -n, and views list.").tag(
        config=True
    )

    def __init__(self, shell: InteractiveShell | None = None, **kwargs: Any) -> None:
        # Set before traitlets loads the config, whose values the observer below sees.
        self.trackers: dict[str, Tracker] = {}
        self._targets: dict[str, tuple[Any, tuple[Any, ...]]] = {}
        self.views: list[LiveView | ReplayView] = []
        super().__init__(shell=shell, **kwargs)

    # ------------------------------------------------------------------ settings
    @validate("max_tokens", "max_redraws_per_second", "log_length")  # show_sql: the Bool trait checks it
    def _valid_setting(self, proposal: dict[str, Any]) -> Any:
        return checked(proposal["trait"].name, proposal["value"])

    @observe("max_tokens", "max_redraws_per_second", "show_sql", "log_length")
    def _settings_changed(self, change: dict[str, Any]) -> None:
        for view in self.views:
            if getattr(view, "live", False):  # a live view (a replay or a still picture has no settings to follow)
                view.configure(**{change["name"]: change["new"]})

    def _view_settings(self) -> dict[str, Any]:
        return {"max_tokens": self.max_tokens, "show_sql": self.show_sql, "log_length": self.log_length}

    # ------------------------------------------------------------------ the magic
    @line_cell_magic
    def sessionkit(self, line: str, cell: str | None = None) -> Any:
        """Watch a SQLAlchemy Session: %sessionkit alone shows what is tracked and how to use it."""
        if cell is not None:
            return self._cell(line, cell)
        args = self._parse(_line_arguments, line)
        command = args.subcommand
        if command is None:
            if args.n is not None or args.models is not None:
                option, owner = ("--models", "track") if args.models is not None else ("-n", "log")
                msg = f"Options need a subcommand: {option} belongs to {owner}, as in {EXAMPLES[owner]}."
                raise UsageError(msg)
            print(self.status())  # noqa: T201 - the help a learner asked for
            return None
        if command not in SUBCOMMANDS:
            close = difflib.get_close_matches(command, SUBCOMMANDS, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            choices = ", ".join(SUBCOMMANDS)
            msg = f"Unknown subcommand {command!r}; {hint}use one of {choices} (%sessionkit alone shows help)."
            raise UsageError(msg)
        if args.models is not None and command != "track":
            msg = f"--models only applies to track; run %sessionkit track NAME --models {args.models}."
            raise UsageError(msg)
        if args.n is not None and command != "log":
            msg = f"-n only applies to log; run %sessionkit log -n {args.n}."
            raise UsageError(msg)
        handler: Callable[[Any], Any] = getattr(self, f"_{command}")
        return handler(args)

    @staticmethod
    def _parse(function: Any, line: str) -> Any:
        try:
            return parse_argstring(function, line)
        except UsageError as error:
            raise UsageError(parse_error(str(error), line, cell=function is _cell_arguments)) from None
        except ValueError as error:  # unbalanced quotes
            msg = f"Could not split {line!r} into arguments ({error}); check its quotes."
            raise UsageError(msg) from None

    def status(self) -> str:
        """What is tracked, and a short help."""
        if self.trackers:
            tracked = "\n".join(
                f"  {self._display(name)}: {tracker.target.description}, {len(tracker)} events"
                for name, tracker in self.trackers.items()
            )
            head = f"sessionkit is tracking:\n{tracked}"
        else:
            head = "sessionkit is tracking nothing yet; start with %sessionkit track NAME."
        settings = (
            f"Settings (%config SessionkitMagics.<name> = ...): max_tokens={self.max_tokens}, "
            f"max_redraws_per_second={self.max_redraws_per_second:g}, show_sql={self.show_sql}, "
            f"log_length={self.log_length}"
        )
        return f"{head}\n\nUsage:\n{USAGE}\n\n{settings}"

    @staticmethod
    def _display(name: str) -> str:
        return "every Session" if name == EVERY_SESSION else name

    # ------------------------------------------------------------------ names
    def _lookup(self, name: str, what: str) -> Any:
        """The object the notebook calls ``name`` (dotted names are followed attribute by attribute)."""
        parts = name.split(".")
        if not all(part.isidentifier() for part in parts):
            msg = f"{name!r} is not a variable name; give the name of {what} in this notebook, such as session."
            raise UsageError(msg)
        assert self.shell is not None  # noqa: S101 - a registered magic always has its shell
        namespace = self.shell.user_ns
        head = parts[0]
        if head not in namespace:
            visible = [key for key in namespace if not key.startswith("_")]
            close = difflib.get_close_matches(head, visible, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            msg = f"No variable named {head!r} exists in this notebook{hint}; define {what} first, then use its name."
            raise UsageError(msg)
        found = namespace[head]
        for index, part in enumerate(parts[1:], start=1):
            if not hasattr(found, part):
                msg = f"{'.'.join(parts[:index])!r} has no attribute {part!r}; give the name of {what}."
                raise UsageError(msg)
            found = getattr(found, part)
        return found

    def _tracker(self, name: str | None) -> Tracker:
        if not self.trackers:
            msg = "Nothing is tracked yet; run %sessionkit track NAME first, with NAME your Session or sessionmaker."
            raise UsageError(msg)
        if name is None:
            return list(self.trackers.values())[-1]
        if name not in self.trackers:
            tracked = ", ".join(self._display(key) for key in self.trackers)
            msg = f"{name!r} is not tracked (tracked: {tracked}); run %sessionkit track {name} first."
            raise UsageError(msg)
        return self.trackers[name]

    # ------------------------------------------------------------------ subcommands
    def _track(self, args: Any) -> Tracker:
        name: str | None = args.name
        target = Session if name is None else self._lookup(name, "a Session, sessionmaker or scoped_session")
        models = None if args.models is None else self._lookup(args.models, "your declarative base")
        try:
            listen_on = resolve(target).listen_on
        except SessionkitError:
            kind = model_kind(target)
            if kind is not None:
                msg = (
                    f"{name!r} is {kind}, not a session; track the Session or sessionmaker your code uses and give "
                    "the declarative base with --models, e.g. %sessionkit track Session --models Base."
                )
            else:
                msg = (
                    f"{name!r} (of type {type(target).__name__}) is not a session; %sessionkit track needs the name "
                    "of a Session, sessionmaker, scoped_session or Session subclass."
                )
            raise UsageError(msg) from None
        try:
            model_list = tuple(model_targets(models))
        except SessionkitError:
            msg = (
                f"--models needs a declarative base or mapped class, but {args.models!r} is of type "
                f"{type(models).__name__}; pass your declarative base, e.g. --models Base."
            )
            raise UsageError(msg) from None
        key = EVERY_SESSION if name is None else name
        old = self.trackers.get(key)
        if old is not None and old.active and self._targets.get(key) == (listen_on, model_list):
            self.trackers[key] = self.trackers.pop(key)  # the latest tracked is the default
            return old
        tracker = track(target, models=models)
        if old is not None:
            self._stop_tracker(key)
        self.trackers[key] = tracker
        self._targets[key] = (listen_on, model_list)
        return tracker

    def _view(self, args: Any) -> LiveView:
        tracker = self._tracker(args.name)
        view = tracker.view(side=args.side, max_redraws_per_second=self.max_redraws_per_second, **self._view_settings())
        self.views.append(view)
        return view

    def _replay(self, args: Any) -> ReplayView:
        tracker = self._tracker(args.name)
        view = tracker.replay(**self._view_settings())
        self.views.append(view)
        return view

    def _diagram(self, args: Any) -> StateDiagram:
        return self._tracker(args.name).diagram(max_tokens=self.max_tokens)

    def _log(self, args: Any) -> StaticView:
        tracker = self._tracker(args.name)
        count = self.log_length if args.n is None else args.n
        if count < 1:
            msg = f"-n must be at least 1, but was given {count}; for example %sessionkit log -n 10."
            raise UsageError(msg)
        events = tracker.events[-count:]
        text = "\n".join(log_lines(events)) if events else "No events yet."
        return StaticView(text, log_html(events))

    def _sql(self, args: Any) -> StaticView:
        groups = sql_groups(self._tracker(args.name).events, limit=None)
        return StaticView(sql_text(groups), sql_html(groups))

    def _map(self, args: Any) -> StaticView:
        snapshot = self._tracker(args.name).snapshot()
        head = snapshot.summary().splitlines()[0]
        return StaticView(f"{head}\n{objects_text(snapshot, MAP_ROWS)}", objects_html(snapshot, MAP_ROWS))

    def _stop(self, args: Any) -> None:
        if not self.trackers:
            msg = "Nothing is tracked, so there is nothing to stop; %sessionkit track NAME starts tracking."
            raise UsageError(msg)
        names = list(self.trackers) if args.name is None else [args.name]
        for name in names:
            self._tracker(name)  # check every name before stopping any
        for name in names:
            self._stop_tracker(name)
        print(f"Stopped tracking {', '.join(self._display(name) for name in names)}.")  # noqa: T201

    def _stop_tracker(self, name: str) -> None:
        tracker = self.trackers.pop(name)
        self._targets.pop(name, None)
        tracker.stop()
        detach_views(tracker)
        self.views = [view for view in self.views if view.tracker is not tracker]

    # ------------------------------------------------------------------ the cell magic
    def _cell(self, line: str, cell: str) -> StaticView:
        args = self._parse(_cell_arguments, line)
        name: str | None = args.name
        temporary = None
        if name is not None and name in self.trackers:
            tracker = self.trackers[name]
        elif name is None and self.trackers:
            tracker = self._tracker(None)
        else:
            target = Session if name is None else self._lookup(name, "a Session or sessionmaker")
            try:
                tracker = temporary = track(target)
            except SessionkitError:
                msg = (
                    f"{name!r} (of type {type(target).__name__}) is not a session; %%sessionkit needs a tracked name "
                    "or the name of a Session, sessionmaker, scoped_session or Session subclass."
                )
                raise UsageError(msg) from None
        try:
            return report_cell(self.shell, tracker, cell, max_tokens=self.max_tokens, show_sql=self.show_sql)
        finally:
            if temporary is not None:
                temporary.stop()

    # ------------------------------------------------------------------ cleanup
    def close(self) -> None:
        """Stop every tracker this instance started and detach its views."""
        for name in list(self.trackers):
            self._stop_tracker(name)
        for view in self.views:
            if getattr(view, "live", False):
                view.detach()
        self.views.clear()


SessionkitMagics.sessionkit.__doc__ = f"{_line_arguments.__doc__}\n{_cell_arguments.__doc__}\n{USAGE}"


def load_ipython_extension(ipython: InteractiveShell) -> None:
    """Register ``%sessionkit`` / ``%%sessionkit`` (``%load_ext sessionkit``); loading twice changes nothing."""
    if ipython.magics_manager.registry.get(SessionkitMagics.__name__) is not None:
        return
    config = config_without_bad_settings(ipython.config, SessionkitMagics.__name__)
    ipython.register_magics(SessionkitMagics(shell=ipython, config=config))


def unload_ipython_extension(ipython: InteractiveShell) -> None:
    """Remove the magics, stop their trackers (and so every listener) and detach their views."""
    manager = ipython.magics_manager
    magics = manager.registry.get(SessionkitMagics.__name__)
    if magics is None:
        return
    magics.close()
    for table in manager.magics.values():
        found = table.get("sessionkit")
        if getattr(found, "__self__", None) is magics:
            del table["sessionkit"]
    del manager.registry[SessionkitMagics.__name__]
    if magics in ipython.configurables:
        ipython.configurables.remove(magics)
