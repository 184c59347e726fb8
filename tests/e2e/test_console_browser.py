"""The console as a person uses it, in a real headless Chromium (Debian's chromium and chromedriver, driven
by Selenium) over the whole running service: sign in, watch the dashboard move while orders flow, open an
order, fix a dead letter's payload and replay it, change a rule in the flow designer and preview an order,
save a version, promote it dev -> qa -> prod (a worker then books with it, without a restart), roll back; and
settle a possible duplicate client (use that client).

Screenshots of each page go to tests/e2e/artefacts/ (XCFB_E2E_ARTEFACTS overrides), printed at the end."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import (
    NoSuchElementException,
    StaleElementReferenceException,
    TimeoutException,
    WebDriverException,
)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from console.app import create_app
from sandboxes.serve import BackgroundServer
from store import binder, ledger, matches, users
from tests.e2e.pipeline import simulated_store
from workers.app import app as celery_app

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
ARTEFACTS = Path(os.environ.get("XCFB_E2E_ARTEFACTS") or Path(__file__).parent / "artefacts")
ADMIN, PASSWORD = "finance.lead@example.com", "a long enough password"


@pytest.fixture
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1440,1100",
                     "--disable-gpu", "--no-first-run"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.implicitly_wait(0)
    yield driver
    driver.quit()


def _while_the_page_changes(condition):
    """chromedriver reports an element of a page being replaced as "Node with given id does not belong to the
    document" (a plain WebDriverException, not a stale element): not yet, poll again. Anything else is raised."""
    try:
        return condition()
    except WebDriverException as exc:
        if "does not belong to the document" in (exc.msg or ""):
            return False
        raise


class Person:
    """The browser, as a person: goes to pages, fills and presses, looks (screenshots)."""

    def __init__(self, driver, base_url: str):
        self.driver, self.base_url = driver, base_url
        ARTEFACTS.mkdir(parents=True, exist_ok=True)
        self.shots: list[Path] = []

    def go(self, path: str) -> None:
        self.driver.get(self.base_url + path)

    def find(self, css: str):
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def text(self, css: str = "body") -> str:
        return self.find(css).text

    def wait_for(self, condition, timeout: float = 30, what: str = ""):
        """Polls `condition` until it holds; an element read while the page is being replaced is read again."""
        try:
            return WebDriverWait(self.driver, timeout, poll_frequency=0.2,
                                 ignored_exceptions=(NoSuchElementException, StaleElementReferenceException)
                                 ).until(lambda _: _while_the_page_changes(condition), what)
        except TimeoutException:
            self.shot("timed-out")
            raise AssertionError(f"timed out waiting for {what or 'the page'}; the page says:\n"
                                 f"{self.text()[:3000]}") from None

    def press(self, css: str) -> None:
        self.find(css).click()

    def shot(self, name: str, at: str | None = None) -> None:
        if at:  # the part of a long page the picture is about
            self.driver.execute_script("arguments[0].scrollIntoView();", self.find(at))
        path = ARTEFACTS / f"{len(self.shots) + 1:02d}-{name}.png"
        self.driver.save_screenshot(str(path))
        self.shots.append(path)


def unpaid_order_event(store):
    """An order placed awaiting payment (the simulator draws statuses: place a few until one is)."""
    for _ in range(20):
        for event in store.place_orders(5):
            if event["type"] == "order.created" and event["data"]["payment_status"]["code"] in ("Q", "A"):
                return event
    raise AssertionError("the simulator placed no order awaiting payment")


def test_a_person_runs_the_integration_from_the_console(pipeline_factory, fb_sandbox, browser):
    pipeline = pipeline_factory(rules_refresh_seconds=1.0)
    svc = pipeline.services
    users.add_user(svc.sessions, ADMIN, "admin", PASSWORD)
    _, store = simulated_store(seed=21)
    first = store.place_orders(6)
    broken = json.loads(json.dumps(next(e for e in first if e["type"] == "order.created"), default=str))
    fixed_payload = json.dumps(broken, indent=2)
    broken["id"] = broken["id"] + "-b"
    broken["data"]["order_number"] = broken["data"]["order_number"] + "B"
    broken["data"]["id"] = broken["data"]["id"] + 5000
    broken["data"]["items"][0]["price"] = "twelve"
    assert pipeline.sender().deliver_all([*first, broken]).delivered == len(first) + 1
    pipeline.settle()
    console = BackgroundServer(create_app(svc, lambda name, args: celery_app.send_task(name, args=args))).start()
    person = Person(browser, console.url)
    try:
        # Sign in: any page sends an anonymous visitor to the sign-in form first.
        person.go("/orders")
        assert "/sign-in" in browser.current_url
        person.find("input[name=email]").send_keys(ADMIN)
        person.find("input[name=password]").send_keys(PASSWORD)
        person.shot("sign-in")
        person.press("form button[type=submit]")
        person.wait_for(lambda: "/orders" in browser.current_url and "Orders" in person.text("h1"), what="signed in")

        # The dashboard moves while orders flow: the synced count grows without a reload.
        person.go("/")
        synced_before = int(person.text("#count-synced"))
        more = store.place_orders(8)
        assert pipeline.sender().deliver_all(more).delivered == len(more)
        pipeline.settle()
        synced_now = ledger.counts_by_status(svc.sessions)["synced"]
        assert synced_now > synced_before
        person.wait_for(lambda: int(person.text("#count-synced")) == synced_now, what="the dashboard refreshed")
        person.shot("dashboard")

        # An order: its timeline, and X-Cart's total next to FreshBooks'.
        booked = next(i for i in fb_sandbox.books.all("invoice") if i["vis_state"] == 0)
        person.go("/orders?q=" + booked["invoice_number"])
        person.press(f"a[href='/orders/{booked['invoice_number']}']")
        person.wait_for(lambda: "side by side" in person.text())
        rows = {row.text.split()[0]: row.text.split()[1:] for row in
                browser.find_elements(By.CSS_SELECTOR, "#side-by-side tbody tr")}
        assert rows["total"] == [str(booked["amount"]["amount"])] * 2
        assert rows["paid"] == [str(booked["paid"]["amount"])] * 2  # what X-Cart collected, as FreshBooks has it
        assert "create invoice" in person.text("#timeline")
        person.shot("order")

        # A dead letter: the bad field by path, an edit still wrong is refused naming it, the fix is replayed.
        letter = ledger.dead_letters(svc.sessions)[0]
        person.go("/dead-letters")
        person.press(f"a[href='/dead-letters/{letter.id}']")
        assert "data.items[0].price" in person.text("#letter-errors")
        still_wrong = json.loads(person.find("#payload").get_attribute("value"))
        still_wrong["data"]["currency"] = "XYZ"
        _fill(browser, "#payload", json.dumps(still_wrong, indent=2))
        person.press("#replay")
        person.wait_for(lambda: "cannot be replayed" in person.text())
        assert "data.currency" in person.text("#payload-problems")
        person.shot("dead-letter-refused", at="#payload-problems")
        repaired = json.loads(fixed_payload)
        repaired["id"] = broken["id"]
        repaired["data"].update(order_number=broken["data"]["order_number"], id=broken["data"]["id"])
        _fill(browser, "#payload", json.dumps(repaired, indent=2))
        person.press("#replay")
        person.wait_for(lambda: "replayed with the edited payload" in person.text())
        pipeline.settle()
        assert ledger.get_event(svc.sessions, broken["id"]).status == "synced"
        person.shot("dead-letter-replayed")

        # The flow designer: invoices created as drafts; the preview shows it before anything is saved.
        person.go("/rules/edit")
        Select(person.find("select[name='rule:[\"invoice\", \"create_as\"]']")).select_by_visible_text("draft")
        person.press("#preview")
        person.wait_for(lambda: "Under the edited rules" in person.text())
        plans = browser.find_elements(By.CSS_SELECTOR, "#preview-result .plan")
        assert "draft" in plans[0].text and "sent" in plans[1].text
        person.shot("flow-preview", at="#preview-result")
        person.find("#comment").send_keys("unpaid orders' invoices as drafts, for a check before sending")
        person.press("#save-version")
        person.wait_for(lambda: person.text("h1").startswith("Rule version "))
        first = int(person.text("h1").removeprefix("Rule version "))  # PostgreSQL keeps counting after a clean-up
        assert "+  create_as: draft" in person.text("#diff")
        person.shot("version-diff")

        # Promote dev -> qa -> prod, each after a dry run whose differences are marked expected.
        for environment in ("dev", "qa", "prod"):
            _promote(person, first, environment)
        assert f"version {first}" in person.text("#env-prod")
        person.shot("promoted")
        # The worker (XCFB_ENVIRONMENT=prod) books with that version now, without a restart.
        person.wait_for(lambda: svc.rules.create_as == "draft", what="the worker read the promotion")
        unpaid = unpaid_order_event(store)
        assert pipeline.sender().deliver_all([unpaid]).delivered == 1
        pipeline.settle()
        number = unpaid["data"]["order_number"]
        invoice = next(i for i in fb_sandbox.books.all("invoice") if i["invoice_number"] == number)
        assert invoice["v3_status"] == "draft"

        # A second version to dev, then dev rolled back to the first.
        person.go(f"/rules/edit?from={first}")
        _set_text(person, "input[name='rule:[\"invoice\", \"due_offset_days\"]']", "30")
        person.find("#comment").send_keys("30 days to pay")
        person.press("#save-version")
        person.wait_for(lambda: person.text("h1") == f"Rule version {first + 1}")
        _promote(person, first + 1, "dev")
        assert f"version {first + 1}" in person.text("#env-dev")
        person.press("#rollback-dev")
        person.wait_for(lambda: f"dev rolled back to version {first}" in person.text())
        assert f"version {first}" in person.text("#env-dev")
        person.shot("rolled-back")
        actions = [(a.actor, a.action) for a in ledger.recent_audit(svc.sessions, people_only=True)]
        for action in ("sign-in", "replay", "save", "dry-run", "promote", "rollback"):
            assert (ADMIN, action) in actions, action
    finally:
        console.stop()
        print("\nscreenshots:\n" + "\n".join(str(path) for path in person.shots))


def held_duplicate(pipeline, store):
    """An open review dead letter asking whether a new customer is a known client (the simulator places
    near-duplicate customers among its orders: place batches until the running worker holds one)."""
    for _ in range(6):
        assert pipeline.sender().deliver_all(store.place_orders(10)).delivered > 0
        pipeline.settle()
        for letter in ledger.dead_letters(pipeline.services.sessions, "open"):
            if letter.kind == "review" and "possible duplicate of client" in letter.reason:
                return letter
    raise AssertionError("the simulator placed no near-duplicate customer the rules held for review")


def test_a_person_settles_a_possible_duplicate_client_from_the_console(pipeline_factory, fb_sandbox, browser):
    pipeline = pipeline_factory()
    svc = pipeline.services
    users.add_user(svc.sessions, ADMIN, "operator", PASSWORD)
    _, store = simulated_store(seed=35)  # its first held order is booked (paid or sent)
    letter = held_duplicate(pipeline, store)
    event = ledger.get_event(svc.sessions, letter.event_id)
    console = BackgroundServer(create_app(svc, lambda name, args: celery_app.send_task(name, args=args))).start()
    person = Person(browser, console.url)
    try:
        person.go(f"/dead-letters/{letter.id}")
        person.find("input[name=email]").send_keys(ADMIN)
        person.find("input[name=password]").send_keys(PASSWORD)
        person.press("form button[type=submit]")
        person.wait_for(lambda: "Possible duplicate client" in person.text(), what="the review's page")
        candidate = int(letter.reason.removeprefix("possible duplicate of client ").split()[0])
        assert person.text("#candidate-score") == f"{float(letter.reason.split('(')[1].split(':')[0]):.2f}"
        assert person.text("#candidate-evidence") and str(candidate) in person.text("#duplicate-review")
        person.shot("duplicate-review", at="#duplicate-review")
        person.press("#use-client")
        person.wait_for(lambda: "use that client" in person.text(), what="the review settled")
        pipeline.settle()
        assert ledger.get_event(svc.sessions, letter.event_id).status == "synced"
        email = json.loads(event.payload)["data"]["email"].strip().lower()
        assert (matches.decision(svc.sessions, email).decision, matches.decision(svc.sessions, email).client_id) \
            == ("use", candidate)
        assert not [c for c in fb_sandbox.books.all("client") if (c.get("email") or "").lower() == email]  # none new
        assert binder.bound_id(svc.sessions, "client", email) == candidate  # the chain resolved it to that client
        if event.order_number:  # an order's event (else the customer's profile): its invoice is the chosen client's
            invoice = [i for i in fb_sandbox.books.all("invoice") if i.get("po_number") == f"X-Cart {event.order_id}"]
            status = json.loads(event.payload)["data"]["payment_status"]["code"]
            booked = svc.rules.payment_status.get(status) != "void"  # a void order (cancelled...) gets no invoice
            assert [i["customerid"] for i in invoice] == ([candidate] if booked else [])
        actions = [(a.actor, a.action) for a in ledger.recent_audit(svc.sessions, people_only=True)]
        assert (ADMIN, "resolve-duplicate") in actions
    finally:
        console.stop()


def _fill(driver, css: str, text: str) -> None:
    """Sets a long textarea at once (typing 3 kB key by key takes a browser seconds)."""
    driver.execute_script("arguments[0].value = arguments[1];", driver.find_element(By.CSS_SELECTOR, css), text)


def _set_text(person: Person, css: str, text: str) -> None:
    field = person.find(css)
    field.clear()
    field.send_keys(text)


def _promote(person: Person, version_id: int, environment: str) -> None:
    person.go(f"/rules/versions/{version_id}")
    Select(person.find("#dry-run-env")).select_by_visible_text(environment)
    person.press("#dry-run")
    person.wait_for(lambda: "Dry run" in person.text("h1"))
    for box in person.driver.find_elements(By.CSS_SELECTOR, "input.expected"):
        box.click()
    if environment == "dev":
        person.shot(f"dry-run-{environment}")
    person.press("#promote")
    person.wait_for(lambda: f"promoted to {environment}" in person.text(), what=f"promoted to {environment}")
