"""Rule versions: edited in forms with errors by path, saved immutable with author and comment, promoted dev ->
qa -> prod only after a dry run whose differences were all expected, rolled back; a worker's Services follow
the pin of their environment without a restart; `xcfb rules` and `xcfb users` do the same from the shell."""

from __future__ import annotations

import io
import re
from decimal import Decimal

import pytest

from console import rule_forms
from mappings import jsonio
from mappings.rules import DEFAULT_RULES, RulesInvalid, load_rules, parse_rules
from mappings.xcart.schemas import OrderSchema, load
from runtime import bootstrap, rule_versions
from runtime.rule_versions import PromotionRefused
from store import ledger, rulebook, snapshots, users
from tests.console_support import console_app, console_services, sign_in
from tests.e2e.pipeline import simulated_store
from xcfb.cli import main


@pytest.fixture
def svc(tmp_path):
    services = console_services(tmp_path, rules_refresh_seconds=0.0)
    _, store = simulated_store(seed=3)
    for event in store.place_orders(12):  # the orders the workers would have kept
        if event["type"].startswith("order."):
            payload = jsonio.dumps(event["data"])
            order = load(OrderSchema, jsonio.loads(payload))
            snapshots.keep_order_if_newer(services.sessions, order.id, order.order_number, order.update_date, payload)
    return services


def drafts_text() -> str:
    return DEFAULT_RULES.read_text().replace("create_as: sent", "create_as: draft")


def unpaid_orders(svc) -> set[str]:
    return {o.order_number for o in rule_versions.recent_orders(svc, 50)
            if rule_versions.booking(svc, o, load_rules())["outcome"] == "sent"}


def test_the_form_gives_back_the_rules_it_was_made_from():
    document = rule_forms.read_yaml(DEFAULT_RULES.read_text())
    form = {f.name: f.value for f in rule_forms.fields_of(document) if not (f.switch and f.value == "false")}
    assert parse_rules(rule_forms.to_yaml(rule_forms.document_from_form(document, form))) == load_rules()
    del form[next(f.name for f in rule_forms.fields_of(document) if f.label == "invoice.look_up_first")]
    assert parse_rules(rule_forms.to_yaml(rule_forms.document_from_form(document, form))).look_up_invoices_first \
        is False  # an unticked switch is not sent: off


def test_the_designer_draws_an_optional_step_only_when_the_rules_have_it():
    document = rule_forms.read_yaml(DEFAULT_RULES.read_text())
    names = [name for name, _, _ in rule_forms.steps(rule_forms.fields_of(document))]
    assert names == ["validation", "anomaly check", "duplicate check", "resolve client", "sync items",
                     "create invoice", "reconcile payment", "credit notes", "both-way sync"]  # the default rules
    for optional in ("validation", "anomalies", "clients", "refunds", "sync"):
        del document[optional]
    names = [name for name, _, _ in rule_forms.steps(rule_forms.fields_of(document))]
    assert names == ["resolve client", "sync items", "create invoice", "reconcile payment"]
    document["validation"] = {"enabled": True, "actions": {"error": "review"}}  # a section another step brings
    fields = rule_forms.fields_of(document)
    drawn = {name: own for name, _, own in rule_forms.steps(fields)}
    assert list(drawn)[0] == "validation"
    assert [f.label for f in drawn["validation"]] == ["validation.enabled", "validation.actions.error"]
    assert rule_forms.step_switches(drawn["validation"]) == ["validation.enabled"]
    assert drawn["validation"][0].switch
    switched_off = rule_forms.document_from_form(document, {f.name: f.value for f in fields if f.value != "true"})
    assert switched_off["validation"]["enabled"] is False


def test_the_form_adds_a_tax_override_a_sku_override_and_a_status():
    document = rule_forms.read_yaml(DEFAULT_RULES.read_text())
    form = {f.name: f.value for f in rule_forms.fields_of(document) if f.value != "false"}
    form.update({"add:taxes.map:key": "CDEV.STAX.1", "add:taxes.map:name": "State Tax", "add:taxes.map:percent": "7.25",
                 "add:items.sku_overrides:key": "SKU-1", "add:items.sku_overrides:name": "Gift card",
                 "add:status.payment:key": "X", "add:status.payment:action": "review"})
    rules = parse_rules(rule_forms.to_yaml(rule_forms.document_from_form(document, form)))
    assert (rules.taxes["CDEV.STAX.1"].name, rules.taxes["CDEV.STAX.1"].percent) == ("State Tax", Decimal("7.25"))
    assert rules.sku_overrides["SKU-1"].name == "Gift card" and rules.payment_status["X"] == "review"
    form["add:taxes.map:percent"] = "seven"
    with pytest.raises(RulesInvalid, match="taxes.map.CDEV.STAX.1.percent"):
        parse_rules(rule_forms.to_yaml(rule_forms.document_from_form(document, form)))


def test_a_bad_setting_is_named_by_its_path_beside_its_field_and_nothing_is_saved(svc):
    client = console_app(svc).test_client()
    token = sign_in(client, "operator")
    document = rule_forms.read_yaml(DEFAULT_RULES.read_text())
    form = {f.name: f.value for f in rule_forms.fields_of(document) if f.value != "false"}
    form[next(f.name for f in rule_forms.fields_of(document) if f.label == "invoice.due_offset_days")] = "-3"
    form[next(f.name for f in rule_forms.fields_of(document) if f.label == "currency.account_currency")] = "ZZZ"
    answer = client.post("/rules/edit", data={**form, "csrf_token": token, "action": "save", "comment": "x"})
    page = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert "invoice.due_offset_days</span>: must be greater than or equal to 0" in page
    assert '<em class="error">must be greater than or equal to 0' in page  # beside its field too
    assert "currency.account_currency</span>: unknown currency &#39;ZZZ&#39;" in page
    assert rulebook.versions(svc.sessions) == []


def test_saving_from_the_designer_makes_a_version_with_author_comment_and_diff(svc):
    client = console_app(svc).test_client()
    token = sign_in(client, "operator")
    document = rule_forms.read_yaml(DEFAULT_RULES.read_text())
    form = {f.name: f.value for f in rule_forms.fields_of(document) if f.value != "false"}
    form[next(f.name for f in rule_forms.fields_of(document) if f.label == "invoice.create_as")] = "draft"
    preview = client.post("/rules/edit", data={**form, "csrf_token": token, "action": "preview"})
    assert "Under the edited rules" in preview.get_data(as_text=True)
    assert client.post("/rules/edit", data={**form, "csrf_token": token, "action": "save", "comment": " "}
                       ).status_code == 422  # a version says what it is for
    saved = client.post("/rules/edit", data={**form, "csrf_token": token, "action": "save", "comment": "drafts"})
    assert saved.status_code == 302
    version = rulebook.versions(svc.sessions)[0]
    assert (version.author, version.comment, version.parent_id) == ("operator@example.com", "drafts", None)
    assert parse_rules(version.text).create_as == "draft"
    page = client.get(saved.headers["Location"]).get_data(as_text=True)
    diff = page[page.index('id="diff"'):page.index("</pre>")]
    changed = [line for line in re.findall(r'<span class="(?:add|del)">([^<]*)</span>', diff) if line[:3] not in
               ("---", "+++")]
    assert changed == ["-  create_as: sent", "+  create_as: draft"]  # the setting, not the file's comments
    assert client.get(f"/rules/versions/{version.id}.yaml").get_data(as_text=True) == version.text
    assert ("operator@example.com", "save") in [(a.actor, a.action) for a in ledger.recent_audit(svc.sessions)]


def test_promotion_goes_dev_qa_prod_and_wants_every_difference_expected(svc):
    version = rule_versions.save(svc, drafts_text(), "a@example.com", "drafts", None)
    with pytest.raises(PromotionRefused, match="promote it to dev first"):
        rule_versions.may_promote_to(svc, version.id, "qa")
    report = rule_versions.dry_run(svc, version.id, "dev", "a@example.com", orders=50)
    changed = {d["order"] for d in report.differences}
    assert changed == unpaid_orders(svc) and changed  # exactly the unpaid orders' invoices become drafts
    assert all(d["fields"] == [{"path": "invoice.status", "before": 2, "after": 1}] for d in report.differences)
    expected = set(sorted(changed)[1:])
    with pytest.raises(PromotionRefused, match=f"not marked expected: {sorted(changed)[0]}"):
        rule_versions.promote(svc, version.id, "dev", report.id, expected, "a@example.com")
    assert rulebook.pinned_version_id(svc.sessions, "dev") is None
    rule_versions.promote(svc, version.id, "dev", report.id, changed, "a@example.com")
    assert rulebook.pinned_version_id(svc.sessions, "dev") == version.id
    with pytest.raises(PromotionRefused, match=f"runs version {version.id} already"):
        rule_versions.promote(svc, version.id, "dev", report.id, changed, "a@example.com")
    qa_report = rule_versions.dry_run(svc, version.id, "qa", "a@example.com")
    svc.rules = load_rules()  # (the worker's own environment is prod: untouched so far)
    rule_versions.promote(svc, version.id, "qa", qa_report.id, changed, "b@example.com")
    pins = rulebook.pins(svc.sessions)
    assert [(p.environment, p.version_id, p.actor, p.report_id) for p in pins] == [
        ("qa", version.id, "b@example.com", qa_report.id), ("dev", version.id, "a@example.com", report.id)]


def test_a_report_made_before_the_environment_changed_is_refused(svc):
    first = rule_versions.save(svc, drafts_text(), "a@example.com", "drafts", None)
    second = rule_versions.save(svc, DEFAULT_RULES.read_text().replace("due_offset_days: 0", "due_offset_days: 30"),
                                "a@example.com", "30 days", None)
    stale = rule_versions.dry_run(svc, second.id, "dev", "a@example.com")
    report = rule_versions.dry_run(svc, first.id, "dev", "a@example.com")
    rule_versions.promote(svc, first.id, "dev", report.id, {d["order"] for d in report.differences}, "a@example.com")
    with pytest.raises(PromotionRefused, match="changed since report"):
        rule_versions.promote(svc, second.id, "dev", stale.id, {d["order"] for d in stale.differences}, "a")


def test_rollback_goes_back_one_promotion_at_a_time_and_the_worker_follows_without_a_restart(svc):
    assert svc.rules.create_as == "sent"  # nothing pinned: the rules file
    versions = [rule_versions.save(svc, drafts_text(), "a", "drafts", None),
                rule_versions.save(svc, drafts_text().replace("due_offset_days: 0", "due_offset_days: 30"), "a", "30",
                                   None)]
    for version in versions:
        for environment in ("dev", "qa", "prod"):
            report = rule_versions.dry_run(svc, version.id, environment, "a")
            rule_versions.promote(svc, version.id, environment, report.id, {d["order"] for d in report.differences},
                                  "a")
    assert (svc.rules.create_as, svc.rules.due_offset_days) == ("draft", 30)  # the worker's env is prod
    assert rule_versions.rollback(svc, "prod", "admin@example.com") == versions[0].id
    assert (svc.rules.create_as, svc.rules.due_offset_days) == ("draft", 0)
    with pytest.raises(PromotionRefused, match="no earlier version"):
        rule_versions.rollback(svc, "prod", "admin@example.com")
    assert rulebook.pinned_version_id(svc.sessions, "qa") == versions[1].id  # other environments untouched


def test_the_cli_imports_promotes_rolls_back_and_shows_history(svc, tmp_path, capsys, monkeypatch):
    bootstrap.use(svc)
    try:
        rules_file = tmp_path / "rules.yaml"
        rules_file.write_text(drafts_text())
        assert main(["rules", "import", str(rules_file), "-m", "drafts", "--by", "cli@example.com"]) == 0
        assert main(["rules", "promote", "1", "--to", "dev"]) == 2  # unpaid orders change: not expected
        assert "not marked expected" in capsys.readouterr().err
        expect = [arg for order in sorted(unpaid_orders(svc)) for arg in ("--expect", order)]
        assert main(["rules", "promote", "1", "--to", "dev", *expect, "--by", "cli@example.com"]) == 0
        assert "version 1 now runs in dev" in capsys.readouterr().out
        assert main(["rules", "export", "--env", "dev"]) == 0
        assert capsys.readouterr().out == drafts_text()
        assert main(["rules", "rollback", "dev"]) == 2
        assert "no earlier version" in capsys.readouterr().err
        assert main(["rules", "history"]) == 0
        history = capsys.readouterr().out
        assert "dev: runs version 1" in history and "prod: runs the rules file" in history
        bad = tmp_path / "bad.yaml"
        bad.write_text(drafts_text().replace("create_as: draft", "create_as: maybe"))
        assert main(["rules", "import", str(bad), "-m", "typo"]) == 2
        assert "invoice.create_as: must be one of: draft, sent" in capsys.readouterr().err
        monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
        assert main(["users", "add", "new@example.com", "--role", "operator", "--password-stdin"]) == 0
        assert users.authenticate(svc.sessions, "NEW@example.com", "a long enough password").role == "operator"
        monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
        assert main(["users", "add", "other@example.com", "--role", "viewer", "--password-stdin"]) == 2
        assert "password: at least 12 characters" in capsys.readouterr().err
    finally:
        bootstrap.use(None)


def test_a_viewer_sees_versions_but_has_no_button_to_change_them(svc):
    client = console_app(svc).test_client()
    sign_in(client, "viewer")
    page = client.get("/rules").get_data(as_text=True)
    assert "Roll back" not in page and "runs <b>the rules file</b>" in page
    designer = client.get("/rules/edit").get_data(as_text=True)
    assert "Save as a new version" not in designer and "invoice.create_as" in designer
