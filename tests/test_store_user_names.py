"""User names are checked like service names (issue 18's follow-up): no NUL, control characters, blanks or '/'."""

from __future__ import annotations

import pytest

from gpucast.errors import InputError
from gpucast.store.db import open_store
from gpucast.store.services import add_user, find_user


@pytest.mark.parametrize("name", ["alice", "root-admin", "alice@example.com", "j.doe", "ÁNGEL_2"])
def test_ordinary_user_names_are_accepted(tmp_path, name):
    with open_store(f"sqlite:///{tmp_path / 'u.db'}") as store, store.write() as session:
        add_user(session, f"  {name} ", "admin", actor=name)
        assert find_user(session, name) is not None


@pytest.mark.parametrize("name", ["", "   ", "a\x00b", "a/b", "two words", "tab\there", "x" * 101, "bell\x07"])
def test_bad_user_names_are_one_line_errors_and_nothing_is_saved(tmp_path, name):
    with open_store(f"sqlite:///{tmp_path / 'u.db'}") as store:
        with pytest.raises(InputError, match="user name") as caught, store.write() as session:
            add_user(session, name, "admin", actor="admin")
        assert "\n" not in str(caught.value)
        with store.read() as session:
            assert find_user(session, name.strip()) is None
