"""Settling reviews from a dead letter's page. A possible duplicate client: the candidate with its score and
evidence, then "use that client" or "create a new one" (xcfb/clients.resolve_review). An order held by the
assistants' findings (anomalies, data quality): each finding, then "accept and replay" (xcfb/operations). Both
are the operator's own commands, run for an operator or above and written to the audit trail with who did it."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, abort, current_app, flash, redirect, request, url_for

from apis.freshbooks.errors import FreshBooksError
from console.auth import actor, requires, svc
from store import assistants, ledger
from store.models import DeadLetter, Event, OrderFinding
from xcfb import operations
from xcfb.clients import duplicate_under_review, resolve_review
from xcfb.operations import OperatorError

bp = Blueprint("reviews", __name__)
CHOICES = {"use-client": "use that client", "create-new": "create a new one"}


@dataclass(frozen=True)
class Candidate:
    """The FreshBooks client a held customer may already be."""

    client_id: int
    score: float | None
    evidence: str
    email: str  # the held customer's email: the decision is kept for it
    who: str  # the candidate as FreshBooks holds it, or why it cannot be shown


@dataclass(frozen=True)
class Review:
    candidate: Candidate | None
    findings: list[OrderFinding]
    held: bool  # some finding holds the order: accepting them lets it be booked
    seen: str = ""  # the held findings shown, as the accept form carries them back (assistants.held_token)


def review_of(letter: DeadLetter, event: Event | None) -> Review:
    """What the dead letter's page shows to settle the entry: a duplicate's candidate, the order's findings."""
    findings = assistants.findings_for_order(svc().sessions, event.order_id) if event and event.order_id else []
    held = letter.status == "open" and any(f.holds_the_order for f in findings)
    return Review(_candidate(letter.id), findings, held, assistants.held_token(findings))


def _candidate(letter_id: int) -> Candidate | None:
    match = duplicate_under_review(svc(), letter_id)
    if match is None or match.client_id is None:
        return None
    try:
        client = svc().freshbooks.get_client(match.client_id)
        who = " ".join(str(client.get(k) or "") for k in ("fname", "lname", "organization")).strip()
        who = f"{who} <{client.get('email') or 'no email'}>"
    except FreshBooksError as exc:  # the choice can still be made: resolving checks the client again
        who = f"(FreshBooks did not answer: {exc})"
    return Candidate(match.client_id, match.score, match.evidence, match.email, who)


@bp.route("/dead-letters/<int:letter_id>/duplicate", methods=["POST"])
@requires("operator")
def settle_duplicate(letter_id: int):
    choice = request.form.get("choice", "")
    if choice not in CHOICES:
        abort(400, description="choice: must be use-client or create-new")
    match = duplicate_under_review(svc(), letter_id)
    if match is None:
        abort(409, description=f"dead letter {letter_id} is not an open question about a possible duplicate client")
    client_id = match.client_id if choice == "use-client" else None  # the candidate shown, never a typed id
    try:
        event_id = resolve_review(svc(), letter_id, choice, client_id, current_app.config["SEND"])
    except OperatorError as exc:
        abort(409, description=str(exc))
    event = ledger.get_event(svc().sessions, event_id)
    detail = f"dead letter {letter_id}: {match.email} " + \
        (f"is client {client_id}" if client_id else "gets a new client") + f" (candidate {match.client_id}, " \
        f"{match.evidence or 'no evidence'})"
    ledger.audit(svc().sessions, "resolve-duplicate", "client", client_id, detail, event_id,
                 event.order_id if event else None, actor=actor())
    flash(f"Dead letter {letter_id}: {CHOICES[choice]}; event {event_id} queued again")
    return redirect(url_for("dead_letters.show", letter_id=letter_id))


@bp.route("/dead-letters/<int:letter_id>/accept", methods=["POST"])
@requires("operator")
def accept_and_replay(letter_id: int):
    try:
        accepted = operations.accept_findings(svc(), letter_id, seen=request.form.get("seen", ""))
        if accepted == 0:
            raise OperatorError(f"dead letter {letter_id} has no held finding to accept")
        event_id = operations.replay(svc(), letter_id, current_app.config["SEND"])
    except OperatorError as exc:
        abort(409, description=str(exc))
    event = ledger.get_event(svc().sessions, event_id)
    ledger.audit(svc().sessions, "accept-findings", "dead_letter", None,
                 f"dead letter {letter_id}: {accepted} finding(s) accepted, replayed", event_id,
                 event.order_id if event else None, actor=actor())
    flash(f"Dead letter {letter_id}: {accepted} finding(s) accepted; event {event_id} queued again")
    return redirect(url_for("dead_letters.show", letter_id=letter_id))
