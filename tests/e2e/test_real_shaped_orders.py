"""The corpus of real-shaped X-Cart orders (tests/corpus), each webhook delivered twice and all shuffled,
through ingest, the broker, a worker and the FreshBooks sandbox: every order booked once, with X-Cart's
total, X-Cart's tax and what X-Cart collected, in the order's currency."""

import hashlib
import hmac
import random
import time
from collections import Counter
from decimal import Decimal as D

import requests

from mappings.rules import DEFAULT_RULES
from store import ledger
from tests.corpus.real_orders import Corpus
from tests.e2e.pipeline import SECRET


def signed_post(url: str, body: bytes) -> int:
    timestamp = str(int(time.time()))
    digest = hmac.new(SECRET.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    headers = {"Content-Type": "application/json", "X-XCart-Signature": f"t={timestamp},v1={digest}"}
    return requests.post(url, data=body, headers=headers, timeout=10).status_code


def test_real_shaped_orders_delivered_twice_and_shuffled_book_once_to_the_cent(pipeline_factory, fb_sandbox,
                                                                               tmp_path):
    # The corpus's customers share names, a phone and a postcode by construction (it is about money, not people):
    # each order's email is its own client here, as duplicate detection off makes it.
    rules = DEFAULT_RULES.read_text(encoding="utf-8")
    assert "    enabled: true " in rules
    (tmp_path / "rules.yaml").write_text(rules.replace("    enabled: true ", "    enabled: false ", 1))
    pipeline = pipeline_factory(max_retries=40, rules_path=tmp_path / "rules.yaml")  # payments may come long
    # before their order under load
    corpus = Corpus(seed=8).orders(60)
    deliveries = [body for case in corpus for body in case.events] * 2
    random.Random(8).shuffle(deliveries)
    answers = Counter(signed_post(f"{pipeline.ingest_url}/webhooks/xcart", body) for body in deliveries)
    events = sum(len(case.events) for case in corpus)
    assert answers == {202: events, 200: events}, answers

    counts = pipeline.settle(timeout=180)
    letters = ledger.dead_letters(pipeline.services.sessions)
    assert counts == {"synced": events}, [f"{letter.kind}: {letter.reason}" for letter in letters]

    invoices = [i for i in fb_sandbox.books.all("invoice") if i["vis_state"] == 0]
    assert sorted(i["invoice_number"] for i in invoices) == sorted(case.order_number for case in corpus)
    by_number = {i["invoice_number"]: i for i in invoices}
    wrong = []
    for case in corpus:
        invoice = by_number[case.order_number]
        tax = sum((D(t["amount"]["amount"]) for t in invoice["taxes"]), D(0))
        shown = (invoice["currency_code"], D(invoice["amount"]["amount"]), tax, D(invoice["outstanding"]["amount"]))
        if shown != (case.currency, case.total, case.tax, case.outstanding):
            wrong.append(f"{case.order_number} ({case.shape}): {shown} != "
                         f"{(case.currency, case.total, case.tax, case.outstanding)}")
    assert not wrong, wrong
    taxes = Counter(t["name"] for t in fb_sandbox.books.all("tax"))
    assert taxes and max(taxes.values()) == 1  # each FreshBooks tax created once, however many orders use it
