"""Rendering read back: SVG without a `dot` program, no stray stderr, one-line errors, threads, saving to files."""

from __future__ import annotations

import json
import os
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from sessionkit import InvalidSettingError, track
from sessionkit.render.diagram import StateDiagram, diagram
from sessionkit.render.rendering import SAVE_FORMATS, RenderError, _captured_stderr, _pass_on
from tests.models import Author
from tests.render.pictures import ROOT, run_python, svg_elements, synthetic

# ---------------------------------------------------------------- rendering: SVG, no `dot`, no stray stderr


def test_mimebundle_has_svg_and_a_plain_summary(session: Session) -> None:
    tracker = track(session)
    session.add(Author())
    picture = tracker.diagram()
    bundle = picture._repr_mimebundle_()
    assert set(bundle) == {"image/svg+xml", "text/plain"}
    assert bundle["image/svg+xml"].startswith("<?xml")
    assert "<svg" in bundle["image/svg+xml"]
    assert bundle["text/plain"] == picture.summary() == repr(picture)
    assert "pending     Author 1" in bundle["text/plain"]
    assert "last move   Author 1: transient -> pending (transient_to_pending)" in bundle["text/plain"]
    assert set(picture._repr_mimebundle_(include=["text/plain"])) == {"text/plain"}
    assert set(picture._repr_mimebundle_(exclude=["text/plain"])) == {"image/svg+xml"}
    assert "svg" in svg_elements(picture.svg())


def test_when_rendering_fails_the_dot_text_shows_with_one_line_of_reason(session: Session) -> None:
    picture = track(session).diagram()
    picture.digraph.body.append("\tthis is { not DOT\n")
    with pytest.raises(RenderError, match=r"Could not render the state diagram as svg: .*syntax error"):
        picture.svg()
    bundle = picture._repr_mimebundle_()
    assert set(bundle) == {"text/plain"}
    reason, _, rest = bundle["text/plain"].partition("\n")
    assert reason.startswith("Could not render the state diagram")
    assert rest == picture.source
    assert "Traceback" not in bundle["text/plain"]


def test_without_pygraphviz_the_reason_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch, session: Session) -> None:
    picture = track(session).diagram()
    monkeypatch.setitem(sys.modules, "pygraphviz", None)
    text = picture._repr_mimebundle_()["text/plain"]
    assert text.splitlines()[0] == (
        "Could not render the state diagram: pygraphviz is not installed (pip install pygraphviz)."
    )


RENDER_IN_A_FRESH_PROCESS = """
import shutil
import sessionkit
from sessionkit import ObjectSnapshot, ObjectState, Snapshot
picture = sessionkit.diagram(Snapshot([ObjectSnapshot("Author 1", ObjectState.PENDING)], at=1, live=True))
svg = picture._repr_mimebundle_()["image/svg+xml"]
print(shutil.which("dot"), svg.startswith("<?xml"), "Author 1" in svg)
"""


def test_svg_needs_no_dot_program_and_prints_nothing(tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    env = {**os.environ, "PATH": str(empty), "PYTHONPATH": str(ROOT)}
    result = run_python(RENDER_IN_A_FRESH_PROCESS, env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["None", "True", "True"]
    assert result.stderr == ""  # no Fontconfig warning, no Graphviz message, nothing


def test_a_fresh_render_prints_nothing_even_where_fontconfig_complains(tmp_path: Path) -> None:
    # A Fontconfig configuration it cannot read makes Fontconfig warn on stderr when Graphviz first
    # lays out text: the warning must not get through.
    conf = tmp_path / "fonts.conf"
    conf.write_text("<fontconfig><bogus-element/></fontconfig>")
    env = {**os.environ, "FONTCONFIG_FILE": str(conf), "PYTHONPATH": str(ROOT)}
    raw = run_python(
        "import pygraphviz; pygraphviz.AGraph(string='digraph { a -> b }').draw(format='svg', prog='dot')", env
    )
    assert raw.returncode == 0
    assert "Fontconfig" in raw.stderr  # the control: unsilenced, it does complain
    result = run_python(RENDER_IN_A_FRESH_PROCESS, env)
    assert result.returncode == 0
    assert result.stderr == ""


def test_stderr_is_captured_at_the_file_descriptor_and_restored(capfd: pytest.CaptureFixture[str]) -> None:
    before, python_stderr = os.fstat(2), sys.stderr
    with _captured_stderr() as lines:
        os.write(2, b"Fontconfig warning: noise from C\n")
        os.write(2, b"a line from another thread\n")
        assert sys.stderr is python_stderr  # never swapped: other threads may be writing to it
    assert lines == ["Fontconfig warning: noise from C", "a line from another thread"]
    after = os.fstat(2)
    assert (before.st_dev, before.st_ino) == (after.st_dev, after.st_ino)
    os.write(2, b"still here\n")
    _pass_on(lines)
    captured = capfd.readouterr()
    assert captured.err == "still here\na line from another thread\n"


def test_rendering_in_another_thread_loses_no_stderr_line(capfd: pytest.CaptureFixture[str]) -> None:
    picture = diagram(synthetic(30))
    done = threading.Event()

    def redraw() -> None:
        while not done.is_set():
            picture.svg()

    drawer = threading.Thread(target=redraw)
    drawer.start()
    try:
        for i in range(300):
            os.write(2, f"line {i}\n".encode())
    finally:
        done.set()
        drawer.join()
    written = capfd.readouterr().err.splitlines()
    assert sorted(written) == sorted(f"line {i}" for i in range(300))


def test_rendering_prints_nothing_in_process(
    capfd: pytest.CaptureFixture[str], tmp_path: Path, session: Session
) -> None:
    tracker = track(session)
    session.add(Author())
    picture = tracker.diagram()
    picture._repr_mimebundle_()
    picture.save(tmp_path / "picture.png")
    captured = capfd.readouterr()
    assert captured.err == ""
    assert captured.out == ""


def test_renders_from_several_threads_at_once(session: Session) -> None:
    pictures = [diagram(synthetic(50 + i)) for i in range(6)]
    results: list[str | BaseException] = []

    def draw(picture: StateDiagram) -> None:
        try:
            results.append(picture.svg())
        except BaseException as error:  # noqa: BLE001
            results.append(error)

    threads = [threading.Thread(target=draw, args=(p,)) for p in pictures]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 6
    assert all(isinstance(r, str) and r.startswith("<?xml") for r in results)


# ---------------------------------------------------------------- saving to files

MAGIC = {
    "svg": b"<?xml",
    "svgz": b"\x1f\x8b",
    "png": b"\x89PNG",
    "pdf": b"%PDF",
    "jpg": b"\xff\xd8",
    "jpeg": b"\xff\xd8",
    "gif": b"GIF8",
    "ps": b"%!PS",
    "eps": b"%!PS",
    "json": b"{",
    "xdot": b"digraph",
    "dot": b"digraph",
    "gv": b"digraph",
}


@pytest.mark.parametrize("fmt", SAVE_FORMATS)
def test_save_writes_the_format_its_suffix_names(fmt: str, tmp_path: Path, session: Session) -> None:
    tracker = track(session)
    session.add(Author())
    picture = tracker.diagram()
    written = picture.save(tmp_path / f"picture.{fmt.upper() if fmt == 'png' else fmt}")
    data = written.read_bytes()
    assert data.startswith(MAGIC[fmt])
    if fmt in ("dot", "gv"):
        assert data.decode("utf-8") == picture.source
    if fmt == "svg":
        assert data.decode("utf-8") == picture.svg()
    if fmt == "json":
        assert json.loads(data)["name"] == "sessionkit"


@pytest.mark.parametrize("name", ["picture.bmp", "picture", "picture.svg.txt"])
def test_save_refuses_a_suffix_it_cannot_write(name: str, tmp_path: Path, session: Session) -> None:
    picture = track(session).diagram()
    with pytest.raises(InvalidSettingError) as caught:
        picture.save(tmp_path / name)
    message = str(caught.value)
    assert message.count(". ") == 0
    assert message.endswith(".")
    assert ".svg, .svgz, .png, .pdf" in message
    assert name in message
    assert isinstance(caught.value, ValueError)
    assert not (tmp_path / name).exists()
