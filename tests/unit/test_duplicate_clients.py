"""Duplicate clients in the chain: an order whose email no client has is bound to the same customer under another
email (auto_match), held for a person (review), or given a new client; the decision is kept; `xcfb review resolve`
settles a held one and `xcfb clients duplicates` lists likely pairs."""

from __future__ import annotations

import dataclasses
import threading

import pytest

from mappings import jsonio
from mappings.orders import NeedsReview
from mappings.rules import DuplicateRules
from store import ledger, matches
from store.models import AuditEntry
from tests.unit.test_chain_steps import EMAIL, ORDER, ORDER_ID, deliver, pay, run_chain
from workers import events, orders
from workers.failures import classify
from xcfb.clients import duplicate_under_review, list_duplicates, resolve_review
from xcfb.operations import OperatorError, discard, replay

SAME_PERSON = {"fname": "María", "lname": "García", "email": "mgarcia@oldmail.net", "bus_phone": "(617) 555-0199",
               "p_street": "12 Beacon Street", "p_city": "Boston", "p_code": "02108"}


def existing(ports, **fields) -> int:
    return int(ports.freshbooks.books.create_client(SAME_PERSON | fields)["id"])


def clients(ports) -> list[dict]:
    return ports.freshbooks.books.all("client")


def held(ports, event_id: str, exc: NeedsReview) -> int:
    """The review entry the worker writes for this failure (workers/tasks.py: classify, then park)."""
    failure = classify(exc, "xcfb.resolve_client")
    return ledger.dead_letter(ports.sessions, event_id, failure.kind, "xcfb.resolve_client", failure.reason,
                              failure.details)


def test_the_same_customer_under_a_new_email_is_booked_to_the_existing_client(ports):
    client_id = existing(ports)
    invoice_id, _ = run_chain(ports, deliver(ports, "e1"), "e1")
    assert [c["id"] for c in clients(ports)] == [client_id]  # no second client
    assert ports.freshbooks.books.read("invoice", invoice_id)["customerid"] == client_id
    decided = matches.decision(ports.sessions, EMAIL)
    assert (decided.decision, decided.client_id) == ("auto", client_id)
    assert decided.score >= ports.rules.duplicates.auto_match
    with ports.sessions() as session:
        detail = session.query(AuditEntry).filter_by(action="match").one().detail
    assert detail.startswith(f"{EMAIL} is client {client_id} (") and "name, phone" in detail

    calls = len(ports.freshbooks.calls)
    orders.resolve_client(ports, ORDER_ID, "e1")  # bound now: no search again
    assert len(ports.freshbooks.calls) == calls


@pytest.mark.parametrize(("first", "last"), [("Иван", "Петров"), ("Þór", "Þórsson"), ("Γιώργος", "Παπαδόπουλος")])
def test_a_customer_whose_name_is_in_another_script_is_found_under_a_new_email(ports, first, last):
    client_id = existing(ports, fname=first, lname=last)
    named = ORDER["data"]["billing_address"] | {"firstname": first, "lastname": last}
    invoice_id, _ = run_chain(ports, deliver(ports, "e1", billing_address=named, shipping_address=named), "e1")
    assert [c["id"] for c in clients(ports)] == [client_id]
    assert ports.freshbooks.books.read("invoice", invoice_id)["customerid"] == client_id


def hold(ports, event_id: str, deliver_it=deliver) -> int:
    """The event taken in and its resolve_client held as a possible duplicate: the review entry written."""
    deliver_it(ports, event_id)
    with pytest.raises(NeedsReview) as held_for:
        orders.resolve_client(ports, ORDER_ID, event_id)
    return held(ports, event_id, held_for.value)


def test_a_likely_but_uncertain_match_is_held_for_review_naming_the_client_and_evidence(ports):
    client_id = existing(ports, bus_phone="(212) 555-0100")  # same name and home, another phone
    deliver(ports, "e1")
    with pytest.raises(NeedsReview) as held_for:
        orders.resolve_client(ports, ORDER_ID, "e1")
    reason = held_for.value.reasons[0]
    assert reason.startswith(f"possible duplicate of client {client_id} (0.")
    assert ": name, address)" in reason
    assert len(clients(ports)) == 1  # nothing created while a person decides
    with pytest.raises(NeedsReview):  # asked again (a redelivery) it stays held, still creating nothing
        orders.resolve_client(ports, ORDER_ID, "e1")
    assert len(clients(ports)) == 1


def test_resolving_use_client_books_to_that_client_and_is_remembered(ports):
    client_id = existing(ports, bus_phone="(212) 555-0100")
    letter_id = hold(ports, "e1")
    sent = []
    replayed = resolve_review(ports, letter_id, "use-client", client_id, lambda name, args: sent.append((name, args)))
    assert replayed == "e1"
    assert sent == [("xcfb.handle_event", ["e1"])]
    assert ledger.get_dead_letter(ports.sessions, letter_id).status == "replayed"
    invoice_id, _ = run_chain(ports, ORDER_ID, "e1")
    assert ports.freshbooks.books.read("invoice", invoice_id)["customerid"] == client_id
    assert len(clients(ports)) == 1
    assert matches.decision(ports.sessions, EMAIL).decision == "use"


def test_one_order_held_twice_is_one_entry_and_resolving_it_runs_the_newest_event(ports):
    existing(ports, bus_phone="(212) 555-0100")
    letters = []
    for event_id in ("e1", "e2"):  # the order created, then paid: both held on the same question
        deliver(ports, event_id)
        with pytest.raises(NeedsReview) as held_for:
            orders.resolve_client(ports, ORDER_ID, event_id)
        letters.append(held(ports, event_id, held_for.value))
    assert letters[0] == letters[1]  # an order has one open review: the later event joins it (issue 13)
    sent = []
    resolve_review(ports, letters[0], "create-new", None, lambda name, args: sent.append(args[0]))
    assert sent == ["e2"]  # the newest event runs the order's newest version; its sync settles e1 (settle_reviews)
    assert ledger.get_dead_letter(ports.sessions, letters[0]).status == "replayed"
    assert "held with the order's later event e2" in ledger.get_event(ports.sessions, "e1").last_error


def test_discarding_an_orders_review_skips_every_event_it_holds(ports):
    existing(ports, bus_phone="(212) 555-0100")
    for event_id in ("e1", "e2"):  # the order created, then paid: one review holds both
        letter_id = hold(ports, event_id)
    replay(ports, letter_id, lambda name, args: None)  # run again (e2) and held again: a new review, naming e2 only
    letter_id = hold(ports, "e2", deliver_it=lambda ports, event_id: None)
    assert ledger.get_event(ports.sessions, "e1").status == "review"
    assert discard(ports, letter_id) == "e2"
    assert {ledger.get_event(ports.sessions, e).status for e in ("e1", "e2")} == {"skipped"}
    assert ledger.counts_by_status(ports.sessions) == {"skipped": 2}  # none left in review without a letter
    assert ledger.get_dead_letter(ports.sessions, letter_id).status == "discarded"
    with pytest.raises(OperatorError, match="no open dead letter"):
        discard(ports, letter_id)


def test_a_review_that_now_names_the_orders_payment_event_is_still_settled_as_a_duplicate(ports):
    client_id = existing(ports, bus_phone="(212) 555-0100")
    letter_id = hold(ports, "e1")
    # the payment rode on the order's chain and was parked with it
    assert hold(ports, "p1", deliver_it=lambda ports, event_id: pay(ports, event_id, 9001, "10.00")) == letter_id
    assert ledger.get_dead_letter(ports.sessions, letter_id).event_id == "p1"  # a payment: no email of its own
    assert duplicate_under_review(ports, letter_id).client_id == client_id  # the console's question, from the order
    sent = []
    resolve_review(ports, letter_id, "use-client", client_id, lambda name, args: sent.append(args[0]))
    assert sent == ["p1"]
    assert matches.decision(ports.sessions, EMAIL).decision == "use"


def test_resolving_create_new_makes_a_new_client_and_is_never_asked_again(ports):
    client_id = existing(ports, bus_phone="(212) 555-0100")
    letter_id = hold(ports, "e1")
    resolve_review(ports, letter_id, "create-new", None, lambda name, args: None)
    new_id = orders.resolve_client(ports, ORDER_ID, "e1")
    assert new_id != client_id and len(clients(ports)) == 2
    # The rules never overturn a person's choice, whatever is scored later.
    matches.decide(ports.sessions, EMAIL, "review", client_id, 0.8)
    assert matches.decision(ports.sessions, EMAIL).decision == "new"


def test_resolve_refuses_what_it_cannot_settle(ports):
    existing(ports, bus_phone="(212) 555-0100")
    letter_id = hold(ports, "e1")
    with pytest.raises(OperatorError, match="use-client needs the FreshBooks client id"):
        resolve_review(ports, letter_id, "use-client", None, lambda name, args: None)
    with pytest.raises(OperatorError, match="FreshBooks has no client 999"):
        resolve_review(ports, letter_id, "use-client", 999, lambda name, args: None)
    other = ledger.dead_letter(ports.sessions, "e2", "review", "xcfb.create_invoice", "unknown status")
    with pytest.raises(OperatorError, match="not about a possible duplicate client"):
        resolve_review(ports, other, "create-new", None, lambda name, args: None)
    with pytest.raises(OperatorError, match="no open review entry 12345"):
        resolve_review(ports, 12345, "create-new", None, lambda name, args: None)


def test_with_duplicate_detection_off_a_new_email_is_a_new_client(ports):
    existing(ports)
    ports.rules = dataclasses.replace(ports.rules, duplicates=DuplicateRules(enabled=False))
    calls = len(ports.freshbooks.calls)
    orders.resolve_client(ports, deliver(ports, "e1"), "e1")
    assert len(clients(ports)) == 2 and "search_clients" not in ports.freshbooks.calls[calls:]


def test_someone_else_with_the_same_name_gets_a_new_client(ports):
    other = existing(ports, fname="Maria", lname="Garcia", email="m.garcia@acme.com", bus_phone="303-555-0111",
                     p_street="5 Lake Dr", p_city="Denver", p_code="80202")
    new_id = orders.resolve_client(ports, deliver(ports, "e1"), "e1")
    assert new_id != other and len(clients(ports)) == 2
    assert matches.decision(ports.sessions, EMAIL) is None


def test_a_family_member_sharing_the_home_and_phone_gets_a_new_client(ports):
    existing(ports, fname="Pedro", lname="Garcia", email="pgarcia@oldmail.net")
    orders.resolve_client(ports, deliver(ports, "e1"), "e1")
    assert len(clients(ports)) == 2


def test_a_customer_profile_matched_as_a_duplicate_binds_and_leaves_the_client_as_it_is(ports):
    client_id = existing(ports)
    profile = {"id": 77, "login": EMAIL, "addresses": [
        {"id": 1, "is_billing": True, "is_shipping": True, "firstname": "Maria", "lastname": "Garcia",
         "phone": "+1 617 555 0199", "street": "12 Beacon St", "city": "Boston", "zipcode": "02108",
         "country_code": "US", "state": "MA"}]}
    raw = jsonio.dumps(ORDER | {"id": "c1", "type": "customer.updated", "data": profile})
    event_id, _ = events.receive(ports, raw)
    events.handle(ports, event_id)
    assert [c["id"] for c in clients(ports)] == [client_id]
    kept = ports.freshbooks.books.read("client", client_id)
    assert (kept["email"], kept["fname"]) == (SAME_PERSON["email"], SAME_PERSON["fname"])


def test_clients_duplicates_lists_likely_pairs_with_scores_and_evidence(ports):
    a = existing(ports)
    b = existing(ports, fname="Maria", lname="Garcia", email="maria@new.example", bus_phone="+16175550199")
    existing(ports, fname="Zed", lname="Quist", email="zq@x.org", bus_phone="", p_street="1 Elm", p_code="1")
    lines = list_duplicates(ports, 0.5)
    assert len(lines) == 3 and lines[-1] == "1 likely duplicate pairs scoring 0.5 or more"
    assert f"{a:>7}  {b:>7}  name, phone, address" in lines[1]


def test_one_person_arriving_twice_at_once_under_two_emails_gets_one_client(ports):
    """Two orders of one customer, with two emails, resolved by two workers at the same moment: without the new-client
    lock both would find no client and both create one."""
    ports.freshbooks.faults.configure({"latency_ms": 20})  # each FreshBooks call takes a while: the window is wide
    second = ORDER_ID + 1
    deliver(ports, "e1")
    deliver(ports, "e2", id=second, order_number="10458", email="maria.g@newmail.example")
    barrier, results = threading.Barrier(2), []

    def worker(order_id: int, event_id: str):
        barrier.wait()
        results.append(orders.resolve_client(ports, order_id, event_id))

    threads = [threading.Thread(target=worker, args=args) for args in ((ORDER_ID, "e1"), (second, "e2"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(results) == 2 and results[0] == results[1]
    assert len(clients(ports)) == 1


def test_two_new_customers_who_cannot_be_one_person_are_looked_up_side_by_side(ports, monkeypatch):
    """The new-client lock holds only customers whose searches could find each other: two unrelated new customers
    reach FreshBooks' create at the same time (the barrier would break if one waited for the other's lock)."""
    second = ORDER_ID + 1
    deliver(ports, "e1")
    other = ORDER["data"]["billing_address"] | {"firstname": "Oluwaseun", "lastname": "Okafor"}
    deliver(ports, "e2", id=second, order_number="10458", email="seun@elsewhere.example", billing_address=other,
            shipping_address=other)
    both_creating, create = threading.Barrier(2, timeout=10), ports.freshbooks.create_client

    def create_when_both_are_here(body):
        both_creating.wait()
        return create(body)

    monkeypatch.setattr(ports.freshbooks, "create_client", create_when_both_are_here)
    results, errors = _resolve_side_by_side(ports, (ORDER_ID, "e1"), (second, "e2"))
    assert errors == [] and len(set(results)) == 2
    assert sorted(c["lname"] for c in clients(ports)) == ["Garcia", "Okafor"]


def test_a_new_customers_email_is_looked_up_while_another_sharing_its_name_start_holds_the_names(ports, monkeypatch):
    """The name-start locks cover a new customer's candidate searches and create, not its email's look-up: at
    FreshBooks' hundreds of milliseconds a call, customers sharing a name start wait out two calls each, not three."""
    second = ORDER_ID + 1
    deliver(ports, "e1")  # Maria Garcia
    other = ORDER["data"]["billing_address"] | {"firstname": "Marcel", "lastname": "Okafor"}  # shares "ma"
    deliver(ports, "e2", id=second, order_number="10458", email="marcel@elsewhere.example", billing_address=other,
            shipping_address=other)
    first_creating, second_looked_up = threading.Event(), threading.Event()
    create, look_up = ports.freshbooks.create_client, ports.freshbooks.find_client_by_email

    def create_once_the_second_looked_up(body):
        if body["lname"] == "Garcia":
            first_creating.set()
            assert second_looked_up.wait(10), "the second customer's email look-up waited for the name locks"
        return create(body)

    def look_up_and_tell(email):
        if email == "marcel@elsewhere.example":
            assert first_creating.wait(10)
            second_looked_up.set()
        return look_up(email)

    monkeypatch.setattr(ports.freshbooks, "create_client", create_once_the_second_looked_up)
    monkeypatch.setattr(ports.freshbooks, "find_client_by_email", look_up_and_tell)
    results, errors = _resolve_side_by_side(ports, (ORDER_ID, "e1"), (second, "e2"))
    assert errors == [] and len(set(results)) == 2
    assert sorted(c["lname"] for c in clients(ports)) == ["Garcia", "Okafor"]


def _resolve_side_by_side(ports, *orders_and_events: tuple[int, str]) -> tuple[list[int], list[Exception]]:
    """resolve_client of each order in a thread of its own, at once: the clients resolved, and what was raised."""
    results, errors = [], []

    def worker(order_id: int, event_id: str):
        try:
            results.append(orders.resolve_client(ports, order_id, event_id))
        except Exception as exc:  # noqa: BLE001 - the caller's assertion names it
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=args) for args in orders_and_events]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results, errors


def test_a_new_customers_candidate_searches_are_made_side_by_side(ports, monkeypatch):
    """Four searches (either name's start, in either name field) at FreshBooks' hundreds of milliseconds a call:
    made at once, the barrier meets; one after the other, it would break."""
    existing(ports)
    order_id = deliver(ports, "e1", email="maria.g@newmail.example")
    all_four, search = threading.Barrier(4, timeout=10), ports.freshbooks.search_clients
    asked = []

    def search_when_all_are_asked(filters):
        asked.append(filters)
        all_four.wait()
        return search(filters)

    monkeypatch.setattr(ports.freshbooks, "search_clients", search_when_all_are_asked)
    assert orders.resolve_client(ports, order_id, "e1") == clients(ports)[0]["id"]
    assert sorted(map(str, asked)) == sorted(str({f: p}) for p in ("gar", "mar") for f in ("fname_like", "lname_like"))


def test_the_same_customer_is_found_past_the_first_page_of_a_common_name(ports):
    for n in range(110):  # other customers whose both names start alike: more than a page for either search
        existing(ports, fname="Mariano", lname=f"Garza{n}", email=f"mg{n}@example.com", bus_phone="",
                 p_street=f"{n} Elm Road", p_city="Denver", p_code="80202")
    client_id = existing(ports)  # the same person, last: on the second page
    invoice_id, _ = run_chain(ports, deliver(ports, "e1"), "e1")
    assert ports.freshbooks.books.read("invoice", invoice_id)["customerid"] == client_id
    assert len(clients(ports)) == 111  # no new client
