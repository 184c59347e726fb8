"""process_event hands the chain the order it parsed from the event (workers.order_reads.remember_order) in place of
parsing the snapshot text again: that is only right if both parse to the same order."""

from mappings import jsonio
from mappings.xcart.entities import Order
from mappings.xcart.envelope import read_json
from mappings.xcart.schemas import OrderSchema, load, parse_event
from sandboxes.xcart.store import SimulatedStore, StoreConfig
from workers import order_reads


def test_an_order_parsed_from_its_event_is_the_order_its_snapshot_text_parses_to():
    store = SimulatedStore(StoreConfig(seed=3, customers=20, products=15, after_sales=0.3))
    seen = 0
    for event in store.place_orders(40):
        body = read_json(jsonio.dumps(event))  # as the worker reads the raw body
        parsed = parse_event(body).data
        if isinstance(parsed, Order):
            snapshot = jsonio.dumps(body["data"])  # what workers/events.handle keeps
            assert load(OrderSchema, jsonio.loads(snapshot)) == parsed
            seen += 1
    assert seen > 40


def test_a_remembered_order_is_read_without_parsing_and_the_oldest_are_forgotten(monkeypatch):
    cache = order_reads._Parsed(order_reads.OrderSchema, size=2)
    calls = []
    monkeypatch.setattr(order_reads, "load", lambda schema, data: calls.append(data) or ("parsed", data["n"]))
    cache.remember('{"n": 1}', "one")
    assert cache('{"n": 1}') == "one" and calls == []
    assert cache('{"n": 2}') == ("parsed", 2) and cache('{"n": 3}') == ("parsed", 3)
    assert cache('{"n": 1}') == ("parsed", 1)  # forgotten: parsed again
    assert len(calls) == 3
