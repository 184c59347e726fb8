"""Settling reviews from a dead letter's page: a possible duplicate client (the candidate with its score and
evidence; use that client or create a new one) and an order held by its findings (accept and replay). The held
entries are written as the workers write them (the rules' reason, `workers/failures.classify`)."""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal

import pytest

from mappings.duplicates import Match
from mappings.findings import Finding, HeldForReview
from mappings.orders import NeedsReview
from store import assistants, ledger, matches
from tests.console_support import console_app, console_services, sign_in
from tests.fakes import FakeFreshBooks
from tests.unit.test_console_pages import order_events
from workers.duplicates import review_reason
from workers.failures import classify
from xcfb import operations
from xcfb.operations import OperatorError

CANDIDATE = {"fname": "María", "lname": "García", "email": "mgarcia@oldmail.net", "p_city": "Boston"}


@pytest.fixture
def svc(tmp_path):
    services = console_services(tmp_path)
    services.freshbooks = FakeFreshBooks()
    return services


def held(svc, event: dict, exc: Exception, task: str) -> int:
    """Records the event and parks it as the worker does for this failure."""
    data = event["data"]
    ledger.record_event(svc.sessions, event["id"], event["type"], f"order:{data['id']}",
                        json.dumps(event, default=str), data["id"], data["order_number"])
    failure = classify(exc, task)
    return ledger.dead_letter(svc.sessions, event["id"], failure.kind, task, failure.reason, failure.details)


def held_as_duplicate(svc) -> tuple[dict, int, int]:
    """An order whose customer looks like an existing client: (event, candidate client id, dead letter id)."""
    event = order_events(1)[0]
    client_id = int(svc.freshbooks.books.create_client(CANDIDATE)["id"])
    match = Match(0.83, ("name", "address"))
    email = event["data"]["email"].strip().lower()
    matches.decide(svc.sessions, email, "review", client_id, match.score, match.describe(), event["id"])
    letter = held(svc, event, NeedsReview([review_reason(client_id, match)]), "xcfb.resolve_client")
    return event, client_id, letter


def test_a_duplicate_review_shows_the_candidate_and_use_that_client_settles_it(svc):
    sent = []
    app = console_app(svc, sent)
    event, client_id, letter = held_as_duplicate(svc)
    viewer = app.test_client()
    viewer_token = sign_in(viewer, "viewer")
    seen = viewer.get(f"/dead-letters/{letter}").get_data(as_text=True)
    assert 'id="candidate-score">0.83<' in seen and 'id="candidate-evidence">0.83: name, address<' in seen
    assert "María García &lt;mgarcia@oldmail.net&gt;" in seen and 'id="use-client"' not in seen  # viewers read
    url = f"/dead-letters/{letter}/duplicate"
    assert viewer.post(url, data={"csrf_token": viewer_token, "choice": "use-client"}).status_code == 403

    operator = app.test_client()
    token = sign_in(operator, "operator")
    page = operator.get(f"/dead-letters/{letter}").get_data(as_text=True)
    assert 'id="use-client"' in page and 'id="create-new"' in page
    assert operator.post(url, data={"choice": "use-client"}).status_code == 400  # no CSRF token
    assert operator.post(url, data={"csrf_token": token, "choice": "merge"}).status_code == 400
    assert sent == [] and ledger.get_dead_letter(svc.sessions, letter).status == "open"

    assert operator.post(url, data={"csrf_token": token, "choice": "use-client"}).status_code == 302
    decided = matches.decision(svc.sessions, event["data"]["email"].strip().lower())
    assert (decided.decision, decided.client_id) == ("use", client_id)
    assert sent == [("xcfb.handle_event", [event["id"]])]
    assert ledger.get_dead_letter(svc.sessions, letter).status == "replayed"
    entry = ledger.recent_audit(svc.sessions, people_only=True)[0]
    assert (entry.actor, entry.action, entry.freshbooks_id, entry.order_id) == \
        ("operator@example.com", "resolve-duplicate", client_id, event["data"]["id"])
    settled = operator.get(f"/dead-letters/{letter}").get_data(as_text=True)
    assert "queued again" in settled and 'id="use-client"' not in settled  # settled: no second answer offered
    assert operator.post(url, data={"csrf_token": token, "choice": "create-new"}).status_code == 409


def test_create_a_new_one_is_kept_for_the_email(svc):
    sent = []
    client = console_app(svc, sent).test_client()
    token = sign_in(client, "admin")
    event, _, letter = held_as_duplicate(svc)
    assert client.post(f"/dead-letters/{letter}/duplicate",
                       data={"csrf_token": token, "choice": "create-new"}).status_code == 302
    decided = matches.decision(svc.sessions, event["data"]["email"].strip().lower())
    assert (decided.decision, decided.client_id) == ("new", None)
    assert sent == [("xcfb.handle_event", [event["id"]])]
    entry = ledger.recent_audit(svc.sessions, people_only=True)[0]
    assert (entry.actor, entry.action) == ("admin@example.com", "resolve-duplicate")
    assert "gets a new client" in entry.detail


def test_an_order_held_by_its_findings_shows_them_and_accept_and_replay_books_it(svc):
    sent = []
    client = console_app(svc, sent).test_client()
    token = sign_in(client, "operator")
    event = order_events(1)[0]
    order_id = event["data"]["id"]
    outlier = Finding("anomaly", "unit_price", "items[0].price", "12.00 is far above the usual 3.10", "anomaly",
                      Decimal("7.4"))
    typo = Finding("validation", "email", "email", "the domain gmial.com looks mistyped", "warning")
    assistants.record_findings(svc.sessions, order_id, [outlier, typo], ["review", "flag"])
    letter = held(svc, event, HeldForReview([outlier]), "xcfb.check_order")
    page = client.get(f"/dead-letters/{letter}").get_data(as_text=True)
    rows = page.split('id="findings"')[1].split("</table>")[0]
    assert "<td>unit_price</td>" in rows and "items[0].price" in rows and "far above the usual 3.10" in rows
    assert "<td>7.4</td>" in rows and "holds the order" in rows and "flagged" in rows and "gmial.com" in rows
    assert 'id="accept-replay"' in page and 'id="use-client"' not in page  # not a duplicate question

    seen = shown_token(page)
    assert client.post(f"/dead-letters/{letter}/accept", data={"csrf_token": token, "seen": seen}).status_code == 302
    statuses = {f.kind: f.status for f in assistants.findings_for_order(svc.sessions, order_id)}
    assert statuses == {"unit_price": "accepted", "email": "open"}  # the flag stays a flag
    assert sent == [("xcfb.handle_event", [event["id"]])]
    assert ledger.get_dead_letter(svc.sessions, letter).status == "replayed"
    entry = ledger.recent_audit(svc.sessions, people_only=True)[0]
    assert (entry.actor, entry.action, entry.order_id) == ("operator@example.com", "accept-findings", order_id)
    assert "1 finding(s) accepted" in entry.detail
    again = client.get(f"/dead-letters/{letter}").get_data(as_text=True)
    assert 'id="accept-replay"' not in again and "<td>accepted</td>" in again
    assert client.post(f"/dead-letters/{letter}/accept", data={"csrf_token": token, "seen": seen}).status_code == 409
    assert len(sent) == 1


def shown_token(page: str) -> str:
    return page.split('name="seen" value="')[1].split('"')[0]


def order_held_by(svc, finding: Finding) -> tuple[int, int]:
    """An order's check found `finding` and the rules hold the order for it: its id and the review's dead letter."""
    event = order_events(1)[0]
    assistants.record_findings(svc.sessions, event["data"]["id"], [finding], ["review"])
    return event["data"]["id"], held(svc, event, HeldForReview([finding]), "xcfb.check_order")


def test_accept_is_refused_when_another_value_was_checked_after_the_page_was_shown(svc):
    """The person saw ten times the usual price; a version at a hundred times was checked before they clicked:
    nothing is accepted or replayed, and the page shows what holds the order now."""
    sent = []
    client = console_app(svc, sent).test_client()
    token = sign_in(client, "operator")
    tenfold = Finding("anomaly", "unit_price", "items[0].price", "31.00 is 10x above the usual 3.10", "anomaly",
                      Decimal("7.4"), "SKU-1 31 USD")
    order_id, letter = order_held_by(svc, tenfold)
    seen = shown_token(client.get(f"/dead-letters/{letter}").get_data(as_text=True))
    hundredfold = dataclasses.replace(tenfold, message="310.00 is 100x above the usual 3.10", value="SKU-1 310 USD")
    assistants.record_findings(svc.sessions, order_id, [hundredfold], ["review"])  # a new version, checked
    refused = client.post(f"/dead-letters/{letter}/accept", data={"csrf_token": token, "seen": seen})
    assert refused.status_code == 409 and "changed since they were shown" in refused.get_data(as_text=True)
    assert [f.status for f in assistants.findings_for_order(svc.sessions, order_id)] == ["open"] and sent == []
    page = client.get(f"/dead-letters/{letter}").get_data(as_text=True)
    assert "100x above" in page and shown_token(page) != seen
    assert client.post(f"/dead-letters/{letter}/accept",
                       data={"csrf_token": token, "seen": shown_token(page)}).status_code == 302


def test_accept_is_refused_for_an_entry_no_finding_holds(svc):
    sent = []
    client = console_app(svc, sent).test_client()
    token = sign_in(client, "operator")
    event = order_events(1)[0]
    letter = held(svc, event, NeedsReview(["unknown order status 'Q'"]), "xcfb.create_invoice")
    page = client.get(f"/dead-letters/{letter}").get_data(as_text=True)
    assert 'id="accept-replay"' not in page and 'id="use-client"' not in page
    refused = client.post(f"/dead-letters/{letter}/accept", data={"csrf_token": token})
    assert refused.status_code == 409 and "no held finding to accept" in refused.get_data(as_text=True)
    assert client.post(f"/dead-letters/{letter}/duplicate",
                       data={"csrf_token": token, "choice": "create-new"}).status_code == 409
    assert sent == [] and ledger.get_dead_letter(svc.sessions, letter).status == "open"


def test_dlq_show_lists_what_holds_the_order_now_and_accept_takes_only_that(svc):
    """The command line's way: `xcfb dlq show` prints the findings holding the order now and a token;
    `xcfb dlq replay ID --accept --seen TOKEN` accepts those, and is refused once another value was checked."""
    tenfold = Finding("anomaly", "quantity", "items[0].amount", "quantity 40 of SKU-1 is 10x the usual 4", "anomaly",
                      Decimal("9"), "SKU-1 40")
    order_id, letter = order_held_by(svc, tenfold)
    shown = operations.show_dead_letter(svc, letter)
    assert "  anomaly quantity items[0].amount: quantity 40 of SKU-1 is 10x the usual 4" in shown
    stale = next(line for line in shown if line.startswith("accept exactly these:")).split("--seen ")[1]
    hundredfold = dataclasses.replace(tenfold, message="quantity 400 of SKU-1 is 100x the usual 4", value="SKU-1 400")
    assistants.record_findings(svc.sessions, order_id, [hundredfold], ["review"])
    with pytest.raises(OperatorError, match="changed since they were shown"):
        operations.accept_findings(svc, letter, stale)
    now = next(line for line in operations.show_dead_letter(svc, letter)
               if line.startswith("accept exactly these:")).split("--seen ")[1]
    assert now != stale and operations.accept_findings(svc, letter, now) == 1
