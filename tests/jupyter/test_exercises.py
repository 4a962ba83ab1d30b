"""Exercises: answers checked against the real session (state_of), the quiz score and the static view."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

import sessionkit
from sessionkit import InvalidSettingError, NotMappedError, ObjectState
from sessionkit.jupyter import exercises as exercises_module
from sessionkit.jupyter.exercises import Exercise, InvalidAnswerError, Score
from sessionkit.jupyter.quiz import RESULT_COLUMNS, Quiz
from tests.models import Author, Base, Book


@pytest.fixture
def tracker(Maker: sessionmaker[Session]) -> Iterator[sessionkit.Tracker]:  # noqa: N803
    with sessionkit.track(Maker, models=Base) as tracker:
        yield tracker


STEPS = ["add", "flush", "delete", "flush", "commit"]
STATES_AFTER = ["transient", "pending", "persistent", "persistent", "deleted", "detached"]


def step(session: Session, obj: Author, name: str) -> None:
    getattr(session, name)(*([obj] if name in {"add", "delete"} else []))


def test_each_question_is_answered_by_the_real_session_when_asked(session: Session) -> None:
    ann = Author(name="Ann")
    asked = [Exercise("Which state is ann in?", ann)]
    for name in STEPS:
        step(session, ann, name)
        asked.append(Exercise("Which state is ann in?", ann))
    assert [e.answer.value for e in asked] == STATES_AFTER  # delete() only marks: still persistent
    assert [e.asked for e in asked] == [e.answer for e in asked]


def test_a_function_as_obj_is_answered_by_the_real_session_at_each_check(session: Session) -> None:
    ann = Author(name="Ann")
    exercise = Exercise("Which state is ann in?", lambda: ann)
    assert exercise.asked is None
    seen = [exercise.answer]
    for name in STEPS:
        step(session, ann, name)
        seen.append(exercise.answer)
    assert [s.value for s in seen] == STATES_AFTER


def test_running_on_before_answering_does_not_change_the_answer(session: Session) -> None:
    ann = Author(name="Ann")
    session.add(ann)
    exercise = Exercise("Which state is ann in?", ann, explanation="It waits for the flush.")
    session.commit()  # the learner ran the next cells before answering
    right = exercise.check("pending")
    wrong = exercise.check("persistent")
    assert (right.correct, right.expected, right.now) == (True, ObjectState.PENDING, ObjectState.PERSISTENT)
    assert str(right) == (
        "Correct: it was pending when the question was asked. It waits for the flush. "
        "(Later cells have moved it on: it is persistent now.)"
    )
    assert not wrong.correct
    assert str(wrong).startswith(
        "Not quite: you said persistent, but state_of() said pending when the question was asked."
    )


def test_the_same_answer_is_right_or_wrong_depending_on_the_session(session: Session) -> None:
    ann = Author(name="Ann")
    session.add(ann)
    before = Exercise("Which state?", ann).check("pending")
    session.commit()
    after = Exercise("Which state?", ann).check("pending")
    assert (before.correct, before.expected) == (True, ObjectState.PENDING)
    assert (after.correct, after.expected) == (False, ObjectState.PERSISTENT)


def test_answers_are_checked_with_state_of(monkeypatch: pytest.MonkeyPatch, session: Session) -> None:
    ann = Author(name="Ann")
    session.add(ann)
    asked: list[object] = []

    def fake_state_of(obj: object) -> ObjectState:
        asked.append(obj)
        return ObjectState.DELETED

    monkeypatch.setattr(exercises_module, "state_of", fake_state_of)
    exercise = Exercise("Which state?", ann)
    outcome = exercise.check("deleted")
    assert outcome.correct
    assert outcome.expected is ObjectState.DELETED
    assert asked == [ann, ann]  # when asked, and again at the check (to tell if it has moved on)


def test_a_function_as_obj_is_looked_up_at_every_check(session: Session) -> None:
    found: dict[str, Author] = {}
    exercise = Exercise("Which state is the newest author in?", lambda: found["author"])
    found["author"] = Author(name="Ann")
    assert exercise.check("transient").correct
    found["author"] = Author(name="Bob")
    session.add(found["author"])
    assert exercise.check("pending").correct


def test_a_function_returning_no_mapped_object_fails_clearly_at_check() -> None:
    exercise = Exercise("Which state?", lambda: "not an object")
    with pytest.raises(NotMappedError, match="state_of\\(\\) needs an instance of a mapped class"):
        exercise.check("pending")


def test_a_real_state_the_choices_do_not_offer_is_reported(session: Session) -> None:
    ann = Author(name="Ann")
    session.add(ann)
    with pytest.raises(InvalidSettingError) as caught:
        Exercise("Which state?", ann, choices=["transient", "persistent"])
    assert str(caught.value) == (
        "The object is really pending, which this exercise does not offer (transient, persistent); "
        "add 'pending' to its choices."
    )
    later = Exercise("Which state?", lambda: ann, choices=["transient", "persistent"])
    with pytest.raises(InvalidSettingError, match=r"really pending, which this exercise does not offer"):
        later.check("transient")


# ---------------------------------------------------------------------- bad settings
@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"prompt": "  "}, InvalidSettingError, "needs a question as a non-empty string, but was given '  '"),
        ({"prompt": None}, InvalidSettingError, "needs a question as a non-empty string, but was given None"),
        ({"obj": Author}, NotMappedError, "was given the class Author; pass an instance of it"),
        ({"obj": 42}, NotMappedError, "state_of() needs an instance of a mapped class, but was given 42"),
        ({"choices": "pending"}, InvalidSettingError, "choices must be several states"),
        ({"choices": ["pending", "Pending"]}, InvalidSettingError, "at least two different states"),
        ({"choices": ["pending", "gone"]}, InvalidAnswerError, "'gone' is not a state"),
        ({"widget": "slider"}, InvalidSettingError, "must be one of 'toggle', 'dropdown', but was given 'slider'"),
    ],
)
def test_bad_settings_fail_with_one_clear_sentence(
    kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    arguments: dict[str, Any] = {"prompt": "Which state?", "obj": Author(name="Ann"), **kwargs}
    with pytest.raises(error) as caught:
        Exercise(arguments.pop("prompt"), arguments.pop("obj"), **arguments)
    assert message in str(caught.value)
    assert str(caught.value).endswith(".")


def test_choices_are_kept_in_travel_order() -> None:
    exercise = Exercise("Which state?", Author(), choices=["detached", ObjectState.PENDING, "transient"])
    assert [s.value for s in exercise.choices] == ["transient", "pending", "detached"]


# ---------------------------------------------------------------------- quiz and score
def test_the_first_answer_counts_and_hints_are_counted(session: Session) -> None:
    ann, bob = Author(name="Ann"), Author(name="Bob")
    session.add(ann)
    quiz = Quiz("Adding", interactive=False)
    first = quiz.ask("Which state is ann in?", ann, hint="No SQL yet.")
    second = quiz.ask("Which state is bob in?", bob)
    assert quiz.score == Score(correct=0, answered=0, total=2, hints=0)
    assert first.show_hint() == "No SQL yet."
    first.show_hint()  # a hint shown twice counts once
    first.check("persistent")
    first.check("pending")  # right, but too late to count
    assert quiz.score == Score(correct=0, answered=1, total=2, hints=1)
    second.check("transient")
    assert quiz.score == Score(correct=1, answered=2, total=2, hints=1)
    assert str(quiz.score) == "1 of 2 answered correctly (2 questions), 1 hint used"
    assert second.show_hint() == "This exercise has no hint."
    assert quiz.score.hints == 1
    assert quiz.summary() == (
        "Adding: 1 of 2 answered correctly (2 questions), 1 hint used\n"
        "   1. wrong (said persistent, was pending)\n"
        "   2. right (said transient, was transient)"
    )


def test_quiz_numbers_its_exercises_from_one(session: Session) -> None:
    quiz = Quiz("Deleting", interactive=False)
    ann = Author(name="Ann")
    for number in range(3):
        quiz.ask(f"Which state? ({number})", ann)
    assert [e.title for e in quiz.exercises] == ["Exercise 1", "Exercise 2", "Exercise 3"]
    assert quiz[2] is quiz.exercises[1]
    assert len(quiz) == 3
    with pytest.raises(IndexError, match=r"^'Deleting' has no exercise 4; its exercises are numbered 1 to 3\.$"):
        quiz[4]
    with pytest.raises(IndexError, match="numbered none yet"):
        Quiz("Empty")[1]


def test_the_quiz_passes_its_defaults_to_each_exercise(tracker: sessionkit.Tracker) -> None:
    quiz = Quiz("Q", tracker=tracker, interactive=False, widget="dropdown")
    exercise = quiz.ask("Which state?", Author(name="Ann"))
    assert (exercise.tracker, exercise.interactive, exercise.widget_kind, exercise.quiz) == (
        tracker,
        False,
        "dropdown",
        quiz,
    )
    own = quiz.ask("Which state is Bob in?", Author(name="Bob"), widget="toggle")
    assert own.widget_kind == "toggle"
    assert exercise.widget_kind == "dropdown"


def test_feedback_quotes_what_the_tracker_recorded(Maker: sessionmaker[Session], tracker: sessionkit.Tracker) -> None:  # noqa: N803
    quiz = Quiz("Q", tracker=tracker, interactive=False)
    with Maker() as session:
        ann = Author(name="Ann")
        session.add(ann)
        session.commit()
        exercise = quiz.ask("Which state is ann in?", ann)
        session.delete(ann)  # after the question: not part of its story
        session.flush()
        outcome = exercise.check("persistent")
    assert outcome.history == (
        "Author 1 went from transient to pending (transient_to_pending, session 1).",
        "Author 1 went from pending to persistent (pending_to_persistent, session 1).",
    )
    assert str(outcome).endswith("The tracker recorded: " + " ".join(outcome.history))
    assert "<li>Author 1 went from pending to persistent" in outcome._repr_html_()


# ---------------------------------------------------------------------- static view
def test_the_static_view_has_question_choices_and_a_folded_answer(session: Session) -> None:
    ann = Author(name="Ann")
    session.add(ann)
    quiz = Quiz("Adding", interactive=False)
    quiz.ask("First?", Author())
    exercise = quiz.ask(
        "After `session.add(ann)`, is <ann> pending?",
        ann,
        hint="Has SQL & co. run?",
        explanation="It waits in `session.new`.",
    )
    bundle = exercise._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "text/html"}
    assert bundle["text/plain"] == (
        "Exercise 2: After `session.add(ann)`, is <ann> pending?\n"
        "Choices: transient | pending | persistent | deleted | detached\n"
        "Hint: Has SQL & co. run?\n"
        "Answer: pending. It waits in `session.new`."
    )
    assert bundle["text/html"] == (
        '<div class="sessionkit-exercise">\n'
        "<p><strong>Exercise 2.</strong> After <code>session.add(ann)</code>, is &lt;ann&gt; pending?</p>\n"
        "<p>Choices: <code>transient</code> · <code>pending</code> · <code>persistent</code> · "
        "<code>deleted</code> · <code>detached</code></p>\n"
        "<details><summary>Hint</summary><p>Has SQL &amp; co. run?</p></details>\n"
        "<details><summary>Answer</summary><p><strong>pending</strong>. "
        "It waits in <code>session.new</code>.</p></details>\n"
        "</div>"
    )


def test_the_static_view_is_deterministic_and_names_no_address(session: Session) -> None:
    ann = Author(name="Ann")
    session.add(ann)
    first = Exercise("Which state?", ann, interactive=False)._repr_mimebundle_()
    second = Exercise("Which state?", ann, interactive=False)._repr_mimebundle_()
    assert first == second
    text = first["text/plain"] + first["text/html"]
    assert not re.search(r"0x[0-9a-f]{4,}|[0-9a-f]{32}| id=", text)


def test_the_static_answer_is_the_state_when_asked(session: Session) -> None:
    book = Book(title="Poems")
    exercise = Exercise("Which state?", book, interactive=False)
    live = Exercise("Which state?", lambda: book, interactive=False)
    session.add(book)
    session.flush()
    assert exercise.to_text().endswith("Answer: transient.")
    assert live.to_text().endswith("Answer: persistent.")
    assert "<strong>persistent</strong>" in live.to_html()
    assert "Answer" not in exercise.to_html(answer=False)


def test_a_function_whose_object_does_not_exist_yet_still_shows() -> None:
    found: dict[str, Author] = {}
    exercise = Exercise("Which state will it be in?", lambda: found["author"], interactive=False)
    assert exercise.to_text().endswith("Answer: decided when you check (the object does not exist yet).")
    found["author"] = Author(name="Ann")
    assert exercise.to_text().endswith("Answer: transient.")


def test_without_a_hint_the_static_view_has_no_hint_line() -> None:
    exercise = Exercise("Which state?", Author(), interactive=False)
    assert "Hint" not in exercise.to_text()
    assert "Hint" not in exercise.to_html()


def test_the_quiz_static_view_is_its_summary() -> None:
    quiz = Quiz("Q <1>", interactive=False)
    quiz.ask("Which state?", Author())
    bundle = quiz._repr_mimebundle_()
    assert bundle == {
        "text/plain": "Q <1>: 0 of 0 answered correctly (1 question)\n   1. not answered yet",
        "text/html": (
            '<div class="sessionkit-summary"><b>Q &lt;1&gt;</b>: 0 of 0 answered correctly (1 question)'
            "<ol><li value=1>not answered yet</li></ol></div>"
        ),
    }
    assert repr(quiz) == "<sessionkit.Quiz 'Q <1>': 0 of 0 answered correctly (1 question)>"


def test_importing_exercises_imports_no_widgets() -> None:
    code = (
        "import sys\n"
        "import sessionkit.jupyter.exercises, sessionkit.jupyter.quiz, sessionkit.teaching\n"
        "print(sorted(m for m in ('ipywidgets', 'IPython', 'pandas', 'pygraphviz') if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


# ---------------------------------------------------------------------- a classroom: notes, re-runs, results
def test_feedback_quotes_the_note_that_corrects_a_hook(
    Maker: sessionmaker[Session],  # noqa: N803
    tracker: sessionkit.Tracker,
) -> None:
    quiz = Quiz("Q", tracker=tracker, interactive=False)
    with Maker() as session:
        ike = Author(name="Ike")
        session.add(ike)
        session.flush()
        session.delete(ike)
        session.flush()
        session.rollback()  # fires deleted_to_detached, but ike is really transient
        outcome = quiz.ask("Which state is ike in?", ike).check("transient")
    assert outcome.correct
    assert outcome.history[-2] == "Author 1 went from deleted to detached (deleted_to_detached, session 1)."
    note = tracker.notes[-1]
    assert note.label == "Author 1"
    assert outcome.history[-1] == note.describe()
    assert "transient" in outcome.history[-1]
    assert str(outcome).endswith(note.describe())


def test_a_deferred_question_whose_object_does_not_exist_yet_says_so_in_one_sentence() -> None:
    exercise = Exercise("Which state will `nobody` be in?", lambda: nobody)  # type: ignore[name-defined]  # noqa: F821
    with pytest.raises(exercises_module.ExerciseNotReadyError) as caught:
        exercise.check("pending")
    assert str(caught.value) == (
        "The object this exercise asks about is not there yet (NameError: name 'nobody' is not defined); "
        "run the cells it is about first, then check again."
    )
    assert isinstance(caught.value, LookupError)
    assert exercise.attempts == []


def test_asking_the_same_question_again_replaces_it_and_keeps_its_number_answers_and_score(session: Session) -> None:
    quiz = Quiz("Q", interactive=False)
    first = quiz.ask("Which state is ann in?", Author(name="Ann"), hint="Look.")
    second = quiz.ask("Which state is bob in?", Author(name="Bob"))
    first.check("pending")  # wrong: transient
    first.show_hint()
    first.check("transient")
    before = (quiz.score, first.attempts[:], quiz.summary())

    ann = Author(name="Ann")  # the learner runs the cell again: a new ann, added this time
    session.add(ann)
    again = quiz.ask("  Which state is ann in?  ", ann, hint="Look again.")
    assert again is first
    assert (again.number, len(quiz), quiz.exercises) == (1, 2, [first, second])
    assert (quiz.score, again.attempts, quiz.summary()) == before
    assert again.hint_shown
    assert (again.obj, again.answer, again.hint) == (ann, ObjectState.PENDING, "Look again.")
    again.check("pending")  # answers after the re-run are checked against the new moment
    assert again.attempts[-1].correct
    assert quiz.score == before[0]  # the first answer still counts
    assert quiz.ask("Which state is carl in?", Author(name="Carl")).number == 3


def answered_quiz(session: Session) -> Quiz:
    quiz = Quiz("Predict the state!", interactive=False)
    ann = Author(name="Ann")
    session.add(ann)
    quiz.ask("Which state is `ann` in?", ann, hint="No SQL yet.").check("persistent")
    quiz[1].show_hint()
    quiz[1].check("pending")
    quiz.ask("And a new author?", Author(name="Bob")).check("transient")
    quiz.ask("Not answered", Author(name="Cy"))
    return quiz


def test_results_are_a_data_frame_with_a_row_per_exercise(session: Session) -> None:
    quiz = answered_quiz(session)
    frame = quiz.results()
    assert list(frame.columns) == list(RESULT_COLUMNS)
    assert [str(t) for t in frame.dtypes] == ["int64", "string", "bool", "string", "boolean", "string", "int64", "bool"]
    assert frame.iloc[:, 3:6].isna().values.tolist() == [[False] * 3, [False] * 3, [True] * 3]
    assert frame.astype(object).where(frame.notna(), None).to_dict("records") == quiz.result_rows()
    assert quiz.result_rows() == [
        {
            "number": 1,
            "question": "Which state is `ann` in?",
            "answered": True,
            "first_answer": "persistent",
            "correct": False,
            "right_answer": "pending",
            "attempts": 2,
            "hint_used": True,
        },
        {
            "number": 2,
            "question": "And a new author?",
            "answered": True,
            "first_answer": "transient",
            "correct": True,
            "right_answer": "transient",
            "attempts": 1,
            "hint_used": False,
        },
        {
            "number": 3,
            "question": "Not answered",
            "answered": False,
            "first_answer": None,
            "correct": None,
            "right_answer": None,  # not given away before an answer
            "attempts": 0,
            "hint_used": False,
        },
    ]


def test_results_are_saved_as_json_beside_the_notebook(
    session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    quiz = answered_quiz(session)
    monkeypatch.chdir(tmp_path)  # a kernel runs in its notebook's folder
    path = quiz.save_results()
    assert path == tmp_path / "predict-the-state-results.json"
    saved = json.loads(path.read_text(encoding="utf-8"))
    assert saved == {
        "quiz": "Predict the state!",
        "score": {"correct": 1, "answered": 2, "total": 3, "hints": 1},
        "exercises": quiz.result_rows(),
    }
    elsewhere = quiz.save_results(tmp_path / "mine.json")
    assert json.loads(elsewhere.read_text(encoding="utf-8")) == saved
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.json", "predict-the-state-results.json"]
