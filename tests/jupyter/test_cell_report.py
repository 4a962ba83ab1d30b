"""The %%sessionkit report: the cell's events, its SQL, the diagram before and after, and what stopped it."""

from __future__ import annotations

from typing import Any

from tests.jupyter.shell import run_cell


def test_cell_magic_shows_what_the_cell_did(shell: Any) -> None:
    run_cell(shell, "%sessionkit track session --models Base")
    report = run_cell(shell, "%%sessionkit\nann = Author(name='Ann')\nsession.add(ann)\nsession.flush()")
    text = repr(report)
    assert text.startswith("The cell caused 6 events.")
    assert "Author 1 went from transient to pending" in text
    assert "SQL:\nFlush (event 4)" in text
    assert "INSERT INTO sk_author" in text
    before, after = text.split("Before:\n")[1].split("After:\n")
    assert "transient   Author 1" not in before  # not yet created
    assert "persistent  Author 1 (1)" in after
    assert report._repr_html_().count("<svg") == 2
    assert shell.user_ns["ann"].name == "Ann"  # the cell really ran in the notebook


def test_cell_magic_reports_a_cell_that_raised(shell: Any, capsys: Any) -> None:
    run_cell(shell, "%sessionkit track session")
    report = run_cell(shell, "%%sessionkit\nann = Author()\nsession.add(ann)\nraise ValueError('oops')")
    assert repr(report).startswith("The cell caused 2 events before it stopped with ValueError: oops.")
    assert "ValueError" in capsys.readouterr().out  # IPython showed the error as for any cell


def test_the_before_picture_says_it_was_drawn_before_the_cell(shell: Any) -> None:
    run_cell(shell, "%sessionkit track session --models Base")
    report = run_cell(shell, "%%sessionkit\nann = Author(name='Ann')\nsession.add(ann)")
    text, page = repr(report), report._repr_html_()
    before, after = text.split("Before:\n")[1].split("After:\n")
    assert before.splitlines()[0] == "State diagram before this cell ran, when no event had happened: 0 tracked"
    assert after.splitlines()[0] == "State diagram after event 3 (now): 1 tracked"
    assert "before this cell ran, when no event had happened · 0 tracked" in page
    assert "(now)" not in page.split("<h4>After</h4>")[0]

    report = run_cell(shell, "%%sessionkit\nsession.flush()")
    before = repr(report).split("Before:\n")[1]
    assert before.splitlines()[0] == "State diagram before this cell ran, as after event 3: 1 tracked"
    assert "before this cell ran, as after event 3 · 1 tracked" in report._repr_html_()
