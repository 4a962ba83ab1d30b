"""disagreement() and identity_taken(): which hooks mislead, given the object's real state."""

from __future__ import annotations

import pytest

from sessionkit import ObjectState
from sessionkit.core.truth import disagreement, identity_taken

T, PE, PS, D, DT = ObjectState


@pytest.mark.parametrize(
    ("hooks", "actual", "committed", "expected"),
    [
        (["persistent_to_deleted", "deleted_to_detached"], T, False, ("deleted_to_detached", DT, T)),
        (["persistent_to_deleted", "deleted_to_detached"], DT, True, None),
        (["persistent_to_deleted"], D, True, ("persistent_to_deleted", DT, D)),
        (["persistent_to_deleted"], D, False, ("persistent_to_deleted", DT, D)),
        (["persistent_to_deleted", "deleted_to_persistent"], PS, False, None),
        (["deleted_to_persistent"], PS, False, ("deleted_to_persistent", D, PS)),
    ],
)
def test_misleading_hooks_are_found(
    hooks: list[str], actual: ObjectState, committed: bool, expected: tuple[str, ObjectState, ObjectState] | None
) -> None:
    found = disagreement(hooks, actual, committed=committed, joined_late=False)
    assert (found if found is None else found[:3]) == expected


def test_the_sentence_says_why() -> None:
    committed = disagreement(["persistent_to_deleted"], D, committed=True, joined_late=False)
    closed = disagreement(["persistent_to_deleted"], D, committed=False, joined_late=False)
    assert committed is not None
    assert closed is not None
    assert "expire_on_commit=False" in committed[3]
    assert "close()" in closed[3]


def test_a_tracker_that_joined_late_cannot_know_an_earlier_flush() -> None:
    assert disagreement(["deleted_to_persistent"], PS, committed=False, joined_late=True) is None


@pytest.mark.parametrize(
    ("hook", "key", "expected"),
    [
        ("persistent_to_detached", None, ("persistent_to_detached", DT, T)),
        ("persistent_to_detached", (object, (1,), None), None),
        ("persistent_to_transient", None, None),
        ("deleted_to_detached", None, None),
    ],
)
def test_a_detached_object_without_identity_is_transient(
    hook: str, key: object, expected: tuple[str, ObjectState, ObjectState] | None
) -> None:
    found = identity_taken(hook, key)
    assert (found if found is None else found[:3]) == expected
