"""Connections at rest (`xcfb connect ...`): one Fernet-encrypted JSON document per name ("freshbooks",
"xcart", "webhooks"), replaced whole in one transaction. Nothing in them reaches a log or a repr."""

from __future__ import annotations

import json

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from store.models import Connection, utcnow


class ConnectionUnreadable(Exception):
    """A stored connection cannot be decrypted: the key changed (XCFB_TOKEN_KEY, or the key file)."""


class ConnectionStore:
    def __init__(self, sessions: sessionmaker, key: str | bytes):
        self._sessions = sessions
        self._fernet = Fernet(key)

    def __repr__(self) -> str:
        return "ConnectionStore(<encrypted>)"

    def get(self, name: str) -> dict | None:
        with self._sessions() as session:
            row = session.get(Connection, name)
            if row is None:
                return None
            try:
                return json.loads(self._fernet.decrypt(row.ciphertext))
            except InvalidToken:
                raise ConnectionUnreadable(f"the stored {name} connection cannot be decrypted: was XCFB_TOKEN_KEY "
                                           "(or the key file under XCFB_HOME) changed?") from None

    def put(self, name: str, document: dict) -> None:
        ciphertext = self._fernet.encrypt(json.dumps(document, sort_keys=True).encode())
        with self._sessions.begin() as session:
            session.merge(Connection(name=name, ciphertext=ciphertext, updated_at=utcnow()))

    def delete(self, name: str) -> bool:
        with self._sessions.begin() as session:
            row = session.get(Connection, name)
            if row is None:
                return False
            session.delete(row)
            return True

    def names(self) -> list[str]:
        with self._sessions() as session:
            return list(session.scalars(select(Connection.name).order_by(Connection.name)))
