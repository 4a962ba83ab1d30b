"""ObjectState and state_of() against a real session, for all five states."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

import sessionkit
from sessionkit import ObjectState, state_of
from tests.models import Author


def test_values_are_the_lowercase_names() -> None:
    assert [s.value for s in ObjectState] == ["transient", "pending", "persistent", "deleted", "detached"]
    assert {s.name for s in ObjectState} == {"TRANSIENT", "PENDING", "PERSISTENT", "DELETED", "DETACHED"}
    assert str(ObjectState.DELETED) == "deleted"


def test_state_of_follows_an_object_through_all_five_states(session: Session) -> None:
    a = Author()
    seen = [state_of(a)]
    session.add(a)
    seen.append(state_of(a))
    session.flush()
    seen.append(state_of(a))
    session.delete(a)
    seen.append(state_of(a))  # only marked: still persistent
    session.flush()
    seen.append(state_of(a))
    session.commit()
    seen.append(state_of(a))
    assert seen == [
        ObjectState.TRANSIENT,
        ObjectState.PENDING,
        ObjectState.PERSISTENT,
        ObjectState.PERSISTENT,
        ObjectState.DELETED,
        ObjectState.DETACHED,
    ]


def test_state_of_agrees_with_inspect_flags(session: Session) -> None:
    from sqlalchemy import inspect

    a = Author()
    session.add(a)
    session.flush()
    flags = inspect(a)
    assert [flags.transient, flags.pending, flags.persistent, flags.deleted, flags.detached] == [
        False,
        False,
        True,
        False,
        False,
    ]
    assert state_of(a) is ObjectState.PERSISTENT


@pytest.mark.parametrize("not_mapped", [object(), 3, "Author", Author, None])
def test_state_of_rejects_what_is_not_a_mapped_instance(not_mapped: object) -> None:
    with pytest.raises(sessionkit.SessionkitError, match="needs an instance of a mapped class") as raised:
        state_of(not_mapped)
    assert isinstance(raised.value, TypeError)
    assert repr(not_mapped) in str(raised.value)


def test_hooks_table_names_all_ten_hooks_with_their_states() -> None:
    assert len(sessionkit.HOOKS) == 10
    for name, hook in sessionkit.HOOKS.items():
        before, _, after = name.partition("_to_")
        if name == "loaded_as_persistent":
            assert hook.before is None
        else:
            assert hook.before is ObjectState(before)
        assert hook.after is ObjectState(name.rsplit("_", 1)[-1] if after == "" else after)
