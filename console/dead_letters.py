"""Dead letters and reviews: filter, read the reason and each bad field by path, fix a payload (checked by the
readers the workers use before it may be replayed), replay or discard one or many. Replay and discard are the
operator's own (xcfb/operations.py); each is written to the audit trail with who did it."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for

from console.auth import actor, requires, svc
from console.reviews import review_of
from mappings.errors import PayloadInvalid
from mappings.xcart.envelope import read_envelope
from mappings.xcart.schemas import parse_event
from store import ledger
from xcfb import operations
from xcfb.operations import OperatorError

bp = Blueprint("dead_letters", __name__)
STATUSES = ("open", "replayed", "discarded", "superseded")


@bp.route("/dead-letters")
def index():
    status = request.args.get("status", "open")
    kind, query = request.args.get("kind", ""), request.args.get("q", "").strip().lower()
    letters = ledger.dead_letters(svc().sessions, status if status in STATUSES else None)
    kinds = sorted({letter.kind for letter in letters})
    if kind:
        letters = [letter for letter in letters if letter.kind == kind]
    if query:
        letters = [letter for letter in letters if query in letter.reason.lower() or query in letter.event_id.lower()]
    return render_template("dead_letters.html", letters=letters, status=status, kind=kind, q=query, kinds=kinds,
                           statuses=STATUSES)


@bp.route("/dead-letters/<int:letter_id>")
def show(letter_id: int):
    letter = ledger.get_dead_letter(svc().sessions, letter_id) or abort(404)
    event = ledger.get_event(svc().sessions, letter.event_id)
    payload = operations.readable_payload(event.payload) if event else ""
    return _page(letter, event, payload, None)


def _page(letter, event, payload: str, problems: list[dict] | None):
    """The dead letter's page; with what it takes to settle it when it is a review (console/reviews.py)."""
    return render_template("dead_letter.html", letter=letter, event=event, payload=payload, problems=problems,
                           review=review_of(letter, event))


def payload_problems(text: str) -> list[dict]:
    """Every bad field of an edited payload, by path, as the workers' readers would find them."""
    try:
        read_envelope(text)
        parse_event(text)
    except PayloadInvalid as exc:
        return exc.as_dicts()
    return []


@bp.route("/dead-letters/<int:letter_id>/replay", methods=["POST"])
@requires("operator")
def replay(letter_id: int):
    letter = ledger.get_dead_letter(svc().sessions, letter_id) or abort(404)
    event = ledger.get_event(svc().sessions, letter.event_id)
    edited = request.form.get("payload")
    unchanged = event is not None and edited is not None and \
        edited.strip() == operations.readable_payload(event.payload).strip()
    if unchanged:
        edited = None  # unchanged: replay the event as it was kept
    if edited is not None:
        problems = payload_problems(edited)
        if problems:
            return _page(letter, event, edited, problems), 422
    try:
        _replay(letter_id, edited)
    except OperatorError as exc:
        return _page(letter, event, edited or "", [{"path": "(payload)", "message": str(exc)}]), 422
    flash(f"Dead letter {letter_id} replayed" + (" with the edited payload" if edited else ""))
    return redirect(url_for("dead_letters.show", letter_id=letter_id))


@bp.route("/dead-letters/<int:letter_id>/discard", methods=["POST"])
@requires("operator")
def discard(letter_id: int):
    try:
        _discard(letter_id)
    except OperatorError as exc:
        abort(409, description=str(exc))
    flash(f"Dead letter {letter_id} discarded")
    return redirect(url_for("dead_letters.show", letter_id=letter_id))


@bp.route("/dead-letters/bulk", methods=["POST"])
@requires("operator")
def bulk():
    action = request.form.get("action")
    if action not in ("replay", "discard"):
        abort(400, description="action: must be replay or discard")
    done, refused = [], []
    for raw in request.form.getlist("ids"):
        try:
            letter_id = int(raw)
            (_replay(letter_id, None) if action == "replay" else _discard(letter_id))
            done.append(letter_id)
        except (ValueError, OperatorError) as exc:
            refused.append(f"{raw}: {exc}")
    flash(f"{len(done)} dead letter(s) {action}ed" + (f"; refused: {'; '.join(refused)}" if refused else ""))
    return redirect(url_for("dead_letters.index"))


def _replay(letter_id: int, payload: str | None) -> None:
    letter = ledger.get_dead_letter(svc().sessions, letter_id)
    event_id = operations.replay(svc(), letter_id, current_app.config["SEND"], payload)
    event = ledger.get_event(svc().sessions, event_id)
    ledger.audit(svc().sessions, "replay", "dead_letter", None,
                 f"dead letter {letter_id} ({letter.kind})" + (", payload edited" if payload else ""),
                 event_id, event.order_id if event else None, actor=actor())


def _discard(letter_id: int) -> None:
    event_id = operations.discard(svc(), letter_id)
    event = ledger.get_event(svc().sessions, event_id)
    ledger.audit(svc().sessions, "discard", "dead_letter", None, f"dead letter {letter_id}", event_id,
                 event.order_id if event else None, actor=actor())
