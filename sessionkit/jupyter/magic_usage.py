"""What ``%sessionkit`` accepts: its subcommands, their forms, and the message for a line that does not parse."""

from __future__ import annotations

__all__ = ["EXAMPLES", "FORMS", "SUBCOMMANDS", "USAGE", "parse_error"]

SUBCOMMANDS = ("track", "view", "diagram", "log", "sql", "map", "replay", "stop")

USAGE = """\
  %sessionkit track NAME [--models BASE]  track the Session, sessionmaker, scoped_session or Session subclass NAME
                                          (no NAME: every Session); BASE: your declarative base, to see new objects
  %sessionkit view [--side]               a live diagram, identity map, event log and SQL, redrawn as cells run
  %sessionkit diagram                     the state diagram now
  %sessionkit log [-n N]                  the last N events in words
  %sessionkit sql                         the SQL each flush sent
  %sessionkit map                         the identity map: each object's state and sub-states
  %sessionkit replay                      a Play button and a slider over the recorded events
  %sessionkit stop [NAME]                 stop tracking NAME (no NAME: everything)
  %%sessionkit [NAME]                     run the cell, then show its events, its SQL and the diagram before and after
  view, diagram, log, sql, map and replay take a tracked NAME too (default: the last one tracked)."""


#: Each subcommand's own form and an example, for the message of a line that does not parse.
FORMS = {
    "track": "%sessionkit track [NAME] [--models BASE]",
    "view": "%sessionkit view [NAME] [--side]",
    **{name: f"%sessionkit {name} [NAME]" for name in ("diagram", "sql", "map", "replay", "stop")},
    "log": "%sessionkit log [NAME] [-n N]",
}
EXAMPLES = {
    "track": "%sessionkit track Session --models Base",
    "log": "%sessionkit log -n 10",
    "stop": "%sessionkit stop Session",
}


def parse_error(problem: str, line: str, *, cell: bool) -> str:
    """The message for a line argparse refused: the problem, then the form of the subcommand it was for."""
    if cell:
        return f"{problem}; %%sessionkit takes at most one NAME, as in %%sessionkit session (see %sessionkit?)."
    first = line.split(maxsplit=1)[0] if line.split() else ""
    if first not in FORMS:
        return f"{problem}; start with a subcommand ({', '.join(SUBCOMMANDS)}), e.g. {EXAMPLES['log']}."
    example = EXAMPLES.get(first, f"%sessionkit {first}")
    return f"{problem}; {first} is written {FORMS[first]}, e.g. {example} (see %sessionkit?)."
