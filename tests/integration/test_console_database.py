"""The console's scenarios on the integration database (PostgreSQL in CI: DATABASE_URL) and a real Redis: every
query of its pages, its reviews and its rule versions, which the unit tier runs on SQLite only."""

from __future__ import annotations

import pytest

from core.settings import Settings
from mappings import jsonio
from mappings.xcart.schemas import OrderSchema, load
from runtime.bootstrap import Services
from store import ledger, snapshots, users
from tests.console_support import EMAILS, PASSWORD, console_app, sign_in
from tests.fakes import FakeFreshBooks
from tests.unit import test_console_pages as pages
from tests.unit import test_console_reviews as reviews
from tests.unit import test_console_rules as rules
from tests.unit.test_console_pages import order_events

PAGE_SCENARIOS = [pages.test_an_edited_payload_is_checked_by_path_before_it_is_replayed,
                  pages.test_many_are_replayed_or_discarded_at_once_and_the_list_filters,
                  pages.test_orders_are_found_by_number_email_and_date_and_show_their_timeline,
                  reviews.test_a_duplicate_review_shows_the_candidate_and_use_that_client_settles_it,
                  reviews.test_create_a_new_one_is_kept_for_the_email,
                  reviews.test_an_order_held_by_its_findings_shows_them_and_accept_and_replay_books_it,
                  reviews.test_accept_is_refused_for_an_entry_no_finding_holds]
RULE_SCENARIOS = [rules.test_saving_from_the_designer_makes_a_version_with_author_comment_and_diff,
                  rules.test_promotion_goes_dev_qa_prod_and_wants_every_difference_expected,
                  rules.test_a_report_made_before_the_environment_changed_is_refused,
                  rules.test_rollback_goes_back_one_promotion_at_a_time_and_the_worker_follows_without_a_restart,
                  rules.test_a_viewer_sees_versions_but_has_no_button_to_change_them]


@pytest.fixture
def svc(tmp_path, engine, sessions, database_url, redis_client):
    """A console's services on the integration database, emptied, and the integration Redis."""
    services = Services(Settings(home=tmp_path, database_url=database_url, rules_refresh_seconds=0.0))
    services.__dict__.update(engine=engine, sessions=sessions, redis=redis_client)
    services.freshbooks = FakeFreshBooks()
    for role, email in EMAILS.items():
        users.add_user(sessions, email, role, PASSWORD)
    return services


@pytest.mark.parametrize("scenario", PAGE_SCENARIOS, ids=lambda f: f.__name__.removeprefix("test_"))
def test_the_console_pages_on_this_database(svc, scenario):
    scenario(svc)


@pytest.mark.parametrize("scenario", RULE_SCENARIOS, ids=lambda f: f.__name__.removeprefix("test_"))
def test_rule_versions_on_this_database(svc, scenario):
    _, store = rules.simulated_store(seed=3)
    for event in store.place_orders(12):  # the orders the workers would have kept (as tests/unit/test_console_rules)
        if event["type"].startswith("order."):
            payload = jsonio.dumps(event["data"])
            order = load(OrderSchema, jsonio.loads(payload))
            snapshots.keep_order_if_newer(svc.sessions, order.id, order.order_number, order.update_date, payload)
    scenario(svc)


def test_the_dashboard_and_every_page_read_this_database(svc):
    client = console_app(svc).test_client()
    sign_in(client, "admin")
    events = order_events(3)
    for event in events:
        pages.park(svc, event, kind="review")
        order = load(OrderSchema, jsonio.loads(jsonio.dumps(event["data"])))
        snapshots.keep_order_if_newer(svc.sessions, order.id, order.order_number, order.update_date,
                                      jsonio.dumps(event["data"]))
    ledger.finish(svc.sessions, events[0]["id"], "synced")
    order_number = events[1]["data"]["order_number"]
    for url in ("/", "/dashboard/panel", "/orders", f"/orders?q={order_number}", f"/orders/{order_number}",
                "/dead-letters", "/dead-letters?status=", "/rules", "/rules/edit", "/rules/import"):
        answer = client.get(url)
        assert answer.status_code == 200, (url, answer.get_data(as_text=True)[:500])
    assert f'href="/orders/{order_number}"' in client.get(f"/orders?q={order_number}").get_data(as_text=True)
