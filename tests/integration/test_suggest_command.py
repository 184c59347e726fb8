"""`xcfb suggest` over HTTP against the X-Cart simulator's REST API and the FreshBooks sandbox: it reads the
catalogue, orders, payments, items, taxes and clients, proposes rules, and `--apply` writes a new rules file
beside the one in use, keeping a person's rules."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from core.settings import Settings
from mappings.rules import load_rules
from runtime import bootstrap
from runtime.bootstrap import Services
from sandboxes.freshbooks.app import SandboxConfig, sandbox_of
from sandboxes.freshbooks.app import create_app as create_freshbooks
from sandboxes.freshbooks.oauth import OAuthSettings
from sandboxes.serve import BackgroundServer
from sandboxes.xcart.app import create_app as create_store
from sandboxes.xcart.store import StoreConfig
from store import binder
from xcfb.cli import xcfb

TOKEN = "suggest-test-token"


@pytest.fixture
def servers():
    freshbooks = create_freshbooks(SandboxConfig(oauth=OAuthSettings(static_tokens=(TOKEN,))))
    books = sandbox_of(freshbooks).books
    books.create_tax({"name": "Sales Tax 8.875%", "amount": "8.875"})
    store = create_store(StoreConfig(seed=4, customers=10, products=8))
    mug = next(p for p in store.extensions["xcart_store"].products.values() if p["name"] == "Coffee Mug")
    books.create_item({"name": "coffee mug", "unit_cost": {"amount": str(mug["price"]), "code": "USD"}})  # by hand
    store.extensions["xcart_store"].place_orders(40)
    with BackgroundServer(freshbooks) as fb, BackgroundServer(store) as xc:
        yield fb, xc


@pytest.fixture
def services(servers, tmp_path, database_url, redis_url):
    fb, xc = servers
    rules = tmp_path / "rules.yaml"
    rules.write_text("version: 1\nstatus:\n  payment:\n    P: sent   # a person's choice\n", encoding="utf-8")
    svc = Services(Settings(home=tmp_path, database_url=database_url, redis_url=redis_url, freshbooks_api_url=fb.url,
                            freshbooks_access_token=TOKEN, freshbooks_account_id="SANDBOX1",
                            xcart_api_url=f"{xc.url}/api", xcart_api_token="xcart-sandbox-token", rules_path=rules))
    bootstrap.use(svc)
    yield svc
    bootstrap.use(None)
    svc.engine.dispose()


def test_suggest_lists_proposals_with_confidence_and_evidence(services):
    shown = CliRunner().invoke(xcfb([]), ["suggest"])
    assert shown.exit_code == 0, shown.output
    assert "CDEV.STAX.1 -> 'Sales Tax'" in shown.output  # the FreshBooks account's own name
    assert "orders, rates " in shown.output and "X-Cart's built-in 'Refunded'" in shown.output
    assert "payment status P" not in shown.output and "P (Paid) -> paid" not in shown.output  # a person set P
    assert not (services.settings.rules_path.parent / "rules.suggested.yaml").exists()


def test_apply_writes_a_new_rules_file_beside_the_old_one(services, servers):
    shown = CliRunner().invoke(xcfb([]), ["suggest", "--apply", "--min-confidence", "0.9"])
    assert shown.exit_code == 0, shown.output
    written = services.settings.rules_path.parent / "rules.suggested.yaml"
    assert f"wrote {written}" in shown.output
    rules = load_rules(written)
    assert rules.payment_status["P"] == "sent"  # the person's rule, kept
    assert rules.payment_status.get("R") == "credit" and rules.taxes["CDEV.STAX.1"].name == "Sales Tax"
    assert services.settings.rules_path.read_text(encoding="utf-8").count("\n") == 4  # the old file untouched
    item = next(i for i in sandbox_of(servers[0].app).books.all("item") if i["name"] == "coffee mug")
    assert binder.bound_id(services.sessions, "item", "SKU-1000") == int(item["id"])  # not created again
    assert f"bound SKU-1000 to FreshBooks item {item['id']}" in shown.output


def test_apply_never_changes_a_binding(services, servers):
    binder.bind(services.sessions, "item", "SKU-1000", 4242)
    shown = CliRunner().invoke(xcfb([]), ["suggest", "--apply"])
    assert shown.exit_code == 0, shown.output
    assert binder.bound_id(services.sessions, "item", "SKU-1000") == 4242 and "bound SKU-1000" not in shown.output
