"""Connections at rest: encrypted, replaced whole, unreadable with another key; the key file is made once,
readable by its owner only."""

import stat

import pytest

from core.keyfile import key_from_file
from store.connections import ConnectionStore, ConnectionUnreadable
from store.models import Connection


def test_a_connection_is_stored_encrypted_and_read_back(sessions, tmp_path):
    store = ConnectionStore(sessions, key_from_file(tmp_path))
    store.put("xcart", {"url": "https://shop.example/api", "token": "tok-very-secret"})
    assert store.get("xcart") == {"url": "https://shop.example/api", "token": "tok-very-secret"}
    with sessions() as session:
        assert b"tok-very-secret" not in session.get(Connection, "xcart").ciphertext
    store.put("xcart", {"url": "https://shop.example/api"})  # replaced whole
    assert store.get("xcart") == {"url": "https://shop.example/api"} and store.names() == ["xcart"]
    assert "tok" not in repr(store)
    assert store.delete("xcart") and store.get("xcart") is None and not store.delete("xcart")


def test_another_key_cannot_read_it(sessions, tmp_path):
    ConnectionStore(sessions, key_from_file(tmp_path / "a")).put("freshbooks", {"account_id": "A1"})
    with pytest.raises(ConnectionUnreadable, match="freshbooks connection cannot be decrypted"):
        ConnectionStore(sessions, key_from_file(tmp_path / "b")).get("freshbooks")


def test_the_key_file_is_made_once_for_its_owner_only(tmp_path):
    key = key_from_file(tmp_path)
    assert key_from_file(tmp_path) == key
    assert stat.S_IMODE((tmp_path / "secret.key").stat().st_mode) == 0o600
