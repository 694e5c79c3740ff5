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


def test_a_name_in_two_unicode_spellings_is_one_user(tmp_path):
    """ "é" typed as one code point (NFC) and as e + U+0301 (NFD) look the same; both were added as two users. Names
    are stored in NFC, so the second is a duplicate, and either spelling finds (and acts as) the one user."""
    from gpucast.errors import StoreConflictError
    from gpucast.store.services import acting_user

    nfc, nfd = "jos\u00e9", "jose\u0301"
    with open_store(f"sqlite:///{tmp_path / 'u.db'}") as store:
        with store.write() as session:
            add_user(session, nfd, "admin", actor=nfd)
        with pytest.raises(StoreConflictError, match="already exists"), store.write() as session:
            add_user(session, nfc, "viewer", actor=nfd)
        with store.read() as session:
            assert find_user(session, nfc).name == nfc and find_user(session, nfd).name == nfc
    assert acting_user(f" {nfd} ") == nfc
