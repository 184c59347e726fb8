"""Find or create, never twice — over a real Redis lock and a real database."""

import threading
import time

import pytest

from core.settings import Settings
from runtime.bootstrap import Services
from store import binder
from workers.exporter import ensure


@pytest.fixture
def svc(tmp_path, redis_url, database_url, redis_client, sessions):
    return Services(Settings(home=tmp_path, redis_url=redis_url, database_url=database_url))


class SlowFreshBooks:
    """A fake FreshBooks item list whose create takes a while, as it does over a network."""

    def __init__(self):
        self.items, self.creates, self.lock = [], 0, threading.Lock()

    def find(self, sku):
        with self.lock:
            return next((i for i in self.items if i["sku"] == sku), None)

    def create(self, sku):
        time.sleep(0.2)
        with self.lock:
            self.creates += 1
            self.items.append({"id": 100 + self.creates, "sku": sku})
            return self.items[-1]


def test_two_workers_ensuring_the_same_item_create_it_once(svc):
    fake = SlowFreshBooks()
    results, barrier = [], threading.Barrier(2)

    def worker():
        barrier.wait()
        results.append(ensure(svc, "item", "SKU-1", lambda: fake.find("SKU-1"), lambda: fake.create("SKU-1")))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert fake.creates == 1
    assert sorted(how for _, how in results) == ["bound", "create"]
    assert {freshbooks_id for freshbooks_id, _ in results} == {101}


def test_an_object_created_without_an_answer_is_adopted(svc):
    fake = SlowFreshBooks()

    def lost_answer():
        fake.create("SKU-2")
        raise TimeoutError("the answer was lost")

    with pytest.raises(TimeoutError):
        ensure(svc, "item", "SKU-2", lambda: fake.find("SKU-2"), lost_answer)
    assert binder.lookup(svc.sessions, "item", "SKU-2").freshbooks_id is None  # the intent is on record
    assert ensure(svc, "item", "SKU-2", lambda: fake.find("SKU-2"), lambda: fake.create("SKU-2")) == (101, "adopt")
    assert fake.creates == 1


def test_a_bound_object_is_not_looked_up_again(svc):
    binder.bind(svc.sessions, "client", "a@example.com", 7)

    def must_not_run():
        raise AssertionError("FreshBooks was asked although the binding is known")

    assert ensure(svc, "client", "a@example.com", must_not_run, must_not_run) == (7, "bound")
