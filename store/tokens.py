"""OAuth token pairs at rest: Fernet-encrypted, one row per FreshBooks connection, replaced atomically."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy.orm import sessionmaker

from apis.freshbooks.errors import AuthFailed
from apis.freshbooks.oauth import TokenPair
from store.models import OAuthToken, utcnow


class SqlTokenStore:
    def __init__(self, sessions: sessionmaker, key: str | bytes, connection: str = "default"):
        self._sessions = sessions
        self._fernet = Fernet(key)
        self._connection = connection

    def load(self) -> TokenPair | None:
        with self._sessions() as session:
            row = session.get(OAuthToken, self._connection)
            if row is None:
                return None
            try:
                data = json.loads(self._fernet.decrypt(row.ciphertext))
            except InvalidToken:
                raise AuthFailed("stored OAuth token cannot be decrypted: wrong XCFB_TOKEN_KEY?") from None
        issued_at = datetime.fromisoformat(data["issued_at"]) if data.get("issued_at") else None
        return TokenPair(data["access_token"], data["refresh_token"], datetime.fromisoformat(data["expires_at"]),
                         issued_at=issued_at)

    def delete(self) -> bool:
        with self._sessions.begin() as session:
            row = session.get(OAuthToken, self._connection)
            if row is not None:
                session.delete(row)
            return row is not None

    def save(self, pair: TokenPair) -> None:
        plain = json.dumps({"access_token": pair.access_token, "refresh_token": pair.refresh_token,
                            "expires_at": pair.expires_at.astimezone(UTC).isoformat(),
                            "issued_at": pair.issued_at.astimezone(UTC).isoformat() if pair.issued_at else None})
        row = OAuthToken(connection=self._connection, ciphertext=self._fernet.encrypt(plain.encode()),
                         expires_at=pair.expires_at, updated_at=utcnow())
        with self._sessions.begin() as session:
            session.merge(row)
