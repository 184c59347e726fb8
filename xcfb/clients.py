"""Duplicate clients from the shell: list likely duplicates already in FreshBooks, settle a review entry."""

from __future__ import annotations

import json
from collections.abc import Callable

from apis.freshbooks.errors import NotFound
from mappings.duplicates import likely_duplicates
from runtime.bootstrap import Services
from store import ledger, matches, snapshots
from store.models import ClientMatch
from xcfb.operations import OperatorError, replay


def list_duplicates(svc: Services, minimum: float) -> list[str]:
    pairs = likely_duplicates(list(svc.freshbooks.list_clients()), minimum)
    rows = [f"{'score':>5}  {'client':>7}  {'client':>7}  evidence / names and emails"]
    for match, a, b in pairs:
        rows.append(f"{match.score:5.2f}  {a['id']:>7}  {b['id']:>7}  {', '.join(match.evidence)}: "
                    f"{_who(a)} | {_who(b)}")
    rows.append(f"{len(pairs)} likely duplicate pairs scoring {minimum} or more")
    return rows


def _who(client: dict) -> str:
    return f"{client.get('fname', '')} {client.get('lname', '')} <{client.get('email', '')}>".strip()


def resolve_review(svc: Services, letter_id: int, choice: str, client_id: int | None,
                   send: Callable[[str, list], None]) -> str:
    """Settles a "possible duplicate" review entry: `use-client` binds the email to client `client_id`, `create-new`
    makes a new client; the choice is kept (never asked again for that email) and the event runs again."""
    letter = ledger.get_dead_letter(svc.sessions, letter_id)
    if letter is None or letter.status != "open" or letter.kind != "review":
        raise OperatorError(f"no open review entry {letter_id} (`xcfb dlq list` shows them)")
    match = matches.decision(svc.sessions, _email_of(svc, letter.event_id))
    if match is None or match.decision != "review" or "possible duplicate of client" not in letter.reason:
        raise OperatorError(f"review entry {letter_id} is not about a possible duplicate client: "
                            "`xcfb dlq show` says why it is held, `xcfb dlq replay` runs it again")
    if choice == "use-client":
        if client_id is None:
            raise OperatorError("use-client needs the FreshBooks client id, e.g. `use-client 123`")
        try:
            svc.freshbooks.get_client(client_id)
        except NotFound:
            raise OperatorError(f"FreshBooks has no client {client_id}") from None
        matches.decide(svc.sessions, match.email, "use", client_id, match.score, match.evidence, letter.event_id)
    else:
        matches.decide(svc.sessions, match.email, "new", None, match.score, match.evidence, letter.event_id)
    for other in _held_for(svc, match.email, letter_id):  # the customer's other events waiting on the same question
        replay(svc, other, send)
    return replay(svc, letter_id, send)


def duplicate_under_review(svc: Services, letter_id: int) -> ClientMatch | None:
    """What an open "possible duplicate" review entry asks (the candidate client, its score and evidence), or None
    when the entry is not such a question (any more)."""
    letter = ledger.get_dead_letter(svc.sessions, letter_id)
    if letter is None or letter.status != "open" or letter.kind != "review" \
            or "possible duplicate of client" not in letter.reason:
        return None
    match = matches.decision(svc.sessions, _email_of(svc, letter.event_id))
    return match if match is not None and match.decision == "review" else None


def _held_for(svc: Services, email: str, but: int) -> list[int]:
    """Open review entries of other events (the profile's, another order's) held as duplicates of this email."""
    held = []
    for letter in ledger.dead_letters(svc.sessions, "open"):
        if letter.id == but or letter.kind != "review" or "possible duplicate of client" not in letter.reason:
            continue
        if _email_of(svc, letter.event_id) == email:
            held.append(letter.id)
    return held


def _email_of(svc: Services, event_id: str) -> str:
    """The customer's email an order or customer event carries (the key of the duplicate decision). An order's one
    review names the event parked last, which may be a payment that rode on the order's chain: its order has the
    email."""
    event = ledger.get_event(svc.sessions, event_id)
    if event is None:
        return ""
    email = _email_in(event.payload, inside_data=True)
    if not email and event.order_id is not None:
        email = _email_in(snapshots.order_payload(svc.sessions, event.order_id) or "", inside_data=False)
    return email


def _email_in(text: str, inside_data: bool) -> str:
    try:
        data = json.loads(text)
        data = (data.get("data") or {}) if inside_data else data
    except (ValueError, AttributeError):
        return ""
    return str(data.get("email") or data.get("login") or "").strip().lower() if isinstance(data, dict) else ""
