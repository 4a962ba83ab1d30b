"""Two runs of SQLAlchemy's test suite compared test by test, and the allow-list of expected differences.

A run is what the ``record_outcomes`` plugin wrote: each test's outcome by node id. Two runs
differ on a test when its outcome differs, or when it ran in one of them only. The allow-list
names the tests that may differ, each with its reason:

>>> plain = {"t.py::A::x": Result("passed"), "t.py::A::y[1]": Result("passed")}
>>> tracked = {"t.py::A::x": Result("passed"), "t.py::A::y[1]": Result("failed", "TypeError: ...")}
>>> found = differences(plain, tracked)
>>> [(d.nodeid, d.plain.outcome, d.tracked.outcome) for d in found]
[('t.py::A::y[1]', 'passed', 'failed')]
>>> verdict = judge(found, read_allow_list("t.py::A::y | fires a hook by hand"), tracked)
>>> (verdict.unexpected, [a.reason for _, a in verdict.allowed])
([], ['fires a hook by hand'])
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: The outcome of a test in a run that did not run it (or was stopped before it).
ABSENT = "absent"

#: Between a node id and its reason, on a line of the allow-list.
SEPARATOR = " | "


class AllowListError(ValueError):
    """A line of the allow-list that is not ``node id | reason``."""


@dataclass(frozen=True)
class Result:
    """One test's outcome in one run (``passed``, ``failed``, ``passed+error``, ...), and why it failed."""

    outcome: str
    message: str = ""


@dataclass(frozen=True)
class Run:
    """One run's outcomes by node id, in the order the tests ran, and the SQLAlchemy that ran them."""

    tests: dict[str, Result]
    sqlalchemy_version: str | None = None
    sqlalchemy_file: str | None = None
    exitstatus: int | None = None
    cpu_seconds: float | None = None

    @classmethod
    def load(cls, path: Path) -> Run:
        """Read what the ``record_outcomes`` plugin wrote to ``path``."""
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        tests = {nodeid: Result(entry["outcome"], entry.get("message", "")) for nodeid, entry in data["tests"].items()}
        sqlalchemy = data.get("sqlalchemy") or {}
        version, file = sqlalchemy.get("version"), sqlalchemy.get("file")
        return cls(tests, version, file, data.get("exitstatus"), data.get("cpu_seconds"))

    def counts(self) -> Counter[str]:
        """How many tests pytest's summary counts under each outcome (``passed+error`` counts under both)."""
        return count(self.tests.values())


def count(results: Iterable[Result]) -> Counter[str]:
    """How many of ``results`` count under each outcome, as pytest's summary line counts them."""
    return Counter(part for result in results for part in result.outcome.split("+"))


@dataclass(frozen=True)
class Difference:
    """A test whose outcome differs between the plain and the tracked run."""

    nodeid: str
    plain: Result
    tracked: Result


def differences(plain: Mapping[str, Result], tracked: Mapping[str, Result]) -> list[Difference]:
    """Every test whose outcome differs, or that ran in one run only: the plain run's order, then the rest."""
    absent = Result(ABSENT)
    found = []
    for nodeid in [*plain, *(nodeid for nodeid in tracked if nodeid not in plain)]:
        before, after = plain.get(nodeid, absent), tracked.get(nodeid, absent)
        if before.outcome != after.outcome:
            found.append(Difference(nodeid, before, after))
    return found


@dataclass(frozen=True)
class Allowance:
    """An entry of the allow-list: a test (all its parametrizations, without ``[...]``) that may differ."""

    nodeid: str
    reason: str
    line: int = 0

    def covers(self, nodeid: str) -> bool:
        """Whether ``nodeid`` is this entry's test, or one of its parametrizations."""
        return nodeid == self.nodeid or (nodeid.startswith(f"{self.nodeid}[") and "[" not in self.nodeid)


def read_allow_list(text: str, source: str = "allow-list") -> list[Allowance]:
    """The entries of an allow-list: one ``node id | reason`` a line; blank lines and ``#`` comments skipped."""
    entries: list[Allowance] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        nodeid, separator, reason = (part.strip() for part in stripped.partition(SEPARATOR.strip()))
        if not separator or not reason or "::" not in nodeid or " " in nodeid:
            msg = (
                f"{source}, line {number}: {stripped!r} is not an entry; write a test's node id "
                f"(path::Class::test), then {SEPARATOR!r}, then why its outcome may differ."
            )
            raise AllowListError(msg)
        if nodeid in seen:
            msg = f"{source}, line {number}: {nodeid!r} is already allowed on line {seen[nodeid]}; keep one entry."
            raise AllowListError(msg)
        seen[nodeid] = number
        entries.append(Allowance(nodeid, reason, number))
    return entries


@dataclass(frozen=True)
class Verdict:
    """The differences sorted by the allow-list."""

    unexpected: list[Difference]
    allowed: list[tuple[Difference, Allowance]]
    #: Entries whose tests ran in the tracked run with no difference: candidates for removal.
    unneeded: list[Allowance] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """Whether every difference is allowed."""
        return not self.unexpected


def judge(found: Iterable[Difference], allowances: Iterable[Allowance], tracked: Mapping[str, Result]) -> Verdict:
    """Sort ``found`` into allowed and unexpected differences, and find the entries no difference needed."""
    entries = list(allowances)
    unexpected: list[Difference] = []
    allowed: list[tuple[Difference, Allowance]] = []
    used: set[str] = set()
    for difference in found:
        entry = next((entry for entry in entries if entry.covers(difference.nodeid)), None)
        if entry is None:
            unexpected.append(difference)
        else:
            allowed.append((difference, entry))
            used.add(entry.nodeid)
    unneeded = [
        entry
        for entry in entries
        if entry.nodeid not in used and any(entry.covers(nodeid) for nodeid in tracked)  # it ran, and changed nothing
    ]
    return Verdict(unexpected, allowed, unneeded)
