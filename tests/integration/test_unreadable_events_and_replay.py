"""The worker's second line of defence and the operator's tools around it: a body the worker cannot read is
recorded and dead-lettered, never dropped; `xcfb dlq replay --payload` explains a bad file instead of a
traceback, and an edited payload that names another order is found by that order afterwards."""

import json

import pytest

from core.settings import Settings
from runtime import bootstrap
from runtime.bootstrap import Services
from store import ledger
from workers import events
from workers.tasks import process_event
from xcfb.cli import main


@pytest.fixture
def svc(tmp_path, redis_url, database_url, redis_client, sessions):
    services = Services(Settings(home=tmp_path, redis_url=redis_url, database_url=database_url))
    bootstrap.use(services)
    yield services
    bootstrap.use(None)
    redis_client.delete("xcfb")  # what a replay queued for a worker that does not run here


def order_event(event_id="evt_1", order_id=5012, number="A-5012", **data):
    return {"id": event_id, "type": "order.created", "created_at": "2026-11-26T10:00:00Z", "store": "s",
            "data": {"id": order_id, "order_number": number, "total": "oops", **data}}


UNREADABLE = {
    "a byte order mark": "\ufeff" + json.dumps(order_event("bom")),
    "Infinity": json.dumps(order_event("inf")).replace('"inf"', "Infinity"),
    "a lone surrogate": json.dumps(order_event("\ud800")),
    "an over-long id": json.dumps(order_event("x" * 5000)),
    "not JSON": "{oops",
    "deep nesting": '{"id": "deep", "data": ' + "[" * 5000 + "]" * 5000 + "}",
}


@pytest.mark.parametrize("case", UNREADABLE)
def test_a_body_the_worker_cannot_read_is_dead_lettered_not_dropped(svc, case, capsys):
    raw = UNREADABLE[case]
    process_event.apply(args=[raw])
    recorded = ledger.counts_by_status(svc.sessions)
    assert recorded == {"dead": 1}
    letter = ledger.dead_letters(svc.sessions)[0]
    assert letter.kind == "invalid" and letter.task == "xcfb.process_event" and letter.errors
    assert letter.event_id.startswith("unreadable:")

    process_event.apply(args=[raw])  # the same body again finds it recorded: still one event, one letter
    assert ledger.counts_by_status(svc.sessions) == {"dead": 1} and len(ledger.dead_letters(svc.sessions)) == 1

    assert main(["dlq", "list"]) == 0
    assert letter.event_id in capsys.readouterr().out
    assert main(["dlq", "show", str(letter.id)]) == 0
    shown = capsys.readouterr().out
    assert f"  {letter.errors[0]['path']}: {letter.errors[0]['message']}" in shown


def test_keys_that_do_not_fit_their_columns_are_left_out_not_fatal(svc):
    raw = json.dumps(order_event(order_id=2 ** 40, number="N" * 500))
    assert events.receive(svc, raw) == ("evt_1", True)
    event = ledger.get_event(svc.sessions, "evt_1")
    assert (event.order_id, event.order_number, event.payload) == (None, None, raw)


def parked(svc, raw):
    event_id, _ = events.receive(svc, raw)
    return ledger.dead_letter(svc.sessions, event_id, "invalid", "xcfb.process_event", "total: not a number")


@pytest.mark.parametrize("content, message", [(None, "cannot read"), (b"\xff\xfe{\x00}\x00", "is not UTF-8 text"),
                                              ("\ufeff{}".encode(), "byte order mark")])
def test_replay_with_an_unreadable_payload_file_says_why(svc, tmp_path, capsys, content, message):
    letter_id = parked(svc, json.dumps(order_event()))
    path = tmp_path / "edited.json"
    if content is not None:
        path.write_bytes(content)
    assert main(["dlq", "replay", str(letter_id), "--payload", str(path)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("xcfb: ") and message in error and "Traceback" not in error
    assert ledger.get_dead_letter(svc.sessions, letter_id).status == "open"


def test_replay_with_a_payload_for_another_order_is_found_by_that_order(svc, tmp_path, redis_client, capsys):
    letter_id = parked(svc, json.dumps(order_event(order_id=5012, number="A-5012")))
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(order_event(order_id=6020, number="B-6020", total="10.00")), encoding="utf-8")
    assert main(["dlq", "replay", str(letter_id), "--payload", str(edited)]) == 0
    assert redis_client.llen("xcfb") == 1  # handed to the workers
    capsys.readouterr()

    for reference in ("B-6020", "6020"):
        assert main(["events", "show", reference]) == 0
        shown = capsys.readouterr().out
        assert "order B-6020 (X-Cart id 6020)" in shown and "evt_1" in shown
    assert main(["events", "show", "A-5012"]) == 2
    assert "no event for order A-5012" in capsys.readouterr().err
