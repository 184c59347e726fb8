"""The console's users and their sessions.

Passwords are hashed with scrypt (memory-hard: 32 MiB a hash, so a stolen table is slow to guess at on any
hardware); the parameters are kept in each hash, so they can be raised later without locking anyone out.
A session is a random token in the browser's cookie; only its SHA-256 is stored, so a read of the table
does not sign anybody in."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from store.models import ConsoleSession, User, as_utc, utcnow

ROLES = ("viewer", "operator", "admin")  # each may do what the ones before it may
MIN_PASSWORD_LENGTH = 12
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
_MAXMEM = 64 * 1024 * 1024


class UserError(ValueError):
    pass


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def password_matches(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        computed = _scrypt(password, base64.b64decode(salt), int(n), int(r), int(p))
    except ValueError:  # a malformed hash matches nothing
        return False
    return hmac.compare_digest(computed, base64.b64decode(digest))


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=_MAXMEM, dklen=32)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


# A password check for an unknown email costs what a real one costs: the answer's timing does not tell
# which emails have an account.
_DUMMY_HASH = None


def _dummy_hash() -> str:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = hash_password(secrets.token_urlsafe(16))
    return _DUMMY_HASH


def normal_email(email: str) -> str:
    return email.strip().lower()


def add_user(sessions: sessionmaker, email: str, role: str, password: str) -> User:
    email = normal_email(email)
    if "@" not in email or len(email) > 254:
        raise UserError(f"email: {email!r} is not an email address")
    if role not in ROLES:
        raise UserError(f"role: must be one of {', '.join(ROLES)}, got {role!r}")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"password: at least {MIN_PASSWORD_LENGTH} characters")
    try:
        with sessions.begin() as session:
            user = User(email=email, role=role, password_hash=hash_password(password), created_at=utcnow())
            session.add(user)
        return user
    except IntegrityError:
        raise UserError(f"email: {email} has an account already") from None


def list_users(sessions: sessionmaker) -> list[User]:
    with sessions() as session:
        return list(session.scalars(select(User).order_by(User.email)))


def authenticate(sessions: sessionmaker, email: str, password: str) -> User | None:
    with sessions() as session:
        user = session.scalar(select(User).where(User.email == normal_email(email)))
    if user is None:
        password_matches(password, _dummy_hash())
        return None
    return user if password_matches(password, user.password_hash) else None


def has_role(user: User, role: str) -> bool:
    return ROLES.index(user.role) >= ROLES.index(role)


# -- sessions -----------------------------------------------------------------------------------------------

def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start_session(sessions: sessionmaker, user_id: int, lifetime: timedelta) -> str:
    """A new session (a new token, whatever the browser held before: no session fixation)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    with sessions.begin() as session:
        session.execute(delete(ConsoleSession).where(ConsoleSession.expires_at < now))
        session.add(ConsoleSession(token_hash=_token_hash(token), user_id=user_id, created_at=now,
                                   expires_at=now + lifetime))
    return token


def session_user(sessions: sessionmaker, token: str) -> User | None:
    with sessions() as session:
        stored = session.get(ConsoleSession, _token_hash(token))
        if stored is None or as_utc(stored.expires_at) <= utcnow():
            return None
        return session.get(User, stored.user_id)


def end_session(sessions: sessionmaker, token: str) -> None:
    with sessions.begin() as session:
        session.execute(delete(ConsoleSession).where(ConsoleSession.token_hash == _token_hash(token)))
