"""Rules and versions, and the flow designer.

The designer (/rules/edit) shows the order chain as steps, each with the settings that shape it as form
fields, and previews a recent order's invoice under the edited rules next to the X-Cart total. Saving makes
a new immutable version (author, comment, diff against the version it came from). Versions go dev -> qa ->
prod, each promotion after a dry run over recent real orders (runtime/rule_versions.py)."""

from __future__ import annotations

import difflib

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for

from console import rule_forms
from console.auth import actor, requires, svc
from mappings.rules import ACTIONS, RulesInvalid, parse_rules
from runtime import rule_versions
from runtime.rule_versions import PromotionRefused
from store import ledger, rulebook
from store.rulebook import ENVIRONMENTS

bp = Blueprint("rules", __name__)
PREVIEW_ORDERS = 20


@bp.route("/rules")
def index():
    services = svc()
    running = {env: rule_versions.running(services, env) for env in ENVIRONMENTS}
    pins = {env: rulebook.pins(services.sessions, env)[:1] for env in ENVIRONMENTS}
    return render_template("rules.html", running=running, pins=pins, versions=rulebook.versions(services.sessions),
                           environments=ENVIRONMENTS, worker_env=services.settings.environment,
                           audit=[a for a in ledger.recent_audit(services.sessions, 30, people_only=True)
                                  if a.object == "rules"])


def _base(version_id: int | None) -> tuple[int | None, str]:
    if version_id is None:
        now = rule_versions.running(svc(), "dev")
        return now.version_id, now.text
    version = rulebook.get_version(svc().sessions, version_id) or abort(404)
    return version.id, version.text


@bp.route("/rules/edit", methods=["GET", "POST"])
def edit():
    """The flow designer: GET shows a version (dev's by default); POST previews, checks or saves."""
    parent_id, text = _base(request.values.get("from", type=int))
    base = rule_forms.read_yaml(text)
    document, errors, preview = base, [], None
    if request.method == "POST":
        document = rule_forms.document_from_form(base, request.form)
        text = rule_forms.to_yaml(document)
        errors = _problems(text)
        action = request.form.get("action", "preview")
        if action == "save" and not errors:
            return _save(text, parent_id, request.form.get("comment", ""))
        if not errors:
            preview = _preview(text, request.form.get("order", type=int))
    return _designer(document, parent_id, errors, preview, request.form.get("comment", ""),
                     request.values.get("order", type=int)), 422 if errors else 200


def _designer(document, parent_id, errors, preview, comment, chosen_order):
    fields = rule_forms.fields_of(document)
    by_error = {e.path: e.message for e in errors}
    orders = rule_versions.recent_orders(svc(), PREVIEW_ORDERS)
    return render_template("flow.html", steps=rule_forms.steps(fields), switches=rule_forms.step_switches,
                           additions=rule_forms.ADDITIONS, actions=ACTIONS,
                           other=rule_forms.outside_steps(fields), errors=errors, by_error=by_error,
                           parent_id=parent_id, preview=preview, comment=comment, orders=orders,
                           chosen_order=chosen_order)


def _problems(text: str) -> list:
    try:
        parse_rules(text, "the edited rules")
    except RulesInvalid as exc:
        return exc.errors
    return []


def _preview(text: str, order_id: int | None) -> dict | None:
    """The chosen order's invoice under the edited rules, under the rules dev runs now, and X-Cart's total."""
    orders = rule_versions.recent_orders(svc(), PREVIEW_ORDERS)
    order = next((o for o in orders if o.id == order_id), orders[0] if orders else None)
    if order is None:
        return None
    now = rule_versions.running(svc(), "dev")
    edited = rule_versions.plan_or_reasons(svc(), order, parse_rules(text, "the edited rules"))
    current = rule_versions.plan_or_reasons(svc(), order, parse_rules(now.text, now.label))
    return {"order": order, "plans": [("Under the edited rules", edited, isinstance(edited, list)),
                                      (f"Under {now.label} (dev now)", current, isinstance(current, list))]}


@requires("operator")
def _save(text: str, parent_id: int | None, comment: str):
    if not comment.strip():
        flash("Say what the change is for: the comment is kept with the version.")
        return _designer(rule_forms.read_yaml(text), parent_id, [], None, comment, None), 422
    version = rule_versions.save(svc(), text, actor(), comment, parent_id)
    flash(f"Version {version.id} saved")
    return redirect(url_for("rules.version", version_id=version.id))


@bp.route("/rules/import", methods=["POST"])
@requires("operator")
def import_yaml():
    text = request.form.get("yaml", "")
    upload = request.files.get("file")
    if upload and upload.filename:
        text = upload.read().decode("utf-8", "replace")
    errors = _problems(text)
    if errors:
        return render_template("rules_import.html", errors=errors, text=text,
                               comment=request.form.get("comment", "")), 422
    comment = request.form.get("comment", "").strip() or "imported from YAML"
    version = rule_versions.save(svc(), text, actor(), comment, rulebook.pinned_version_id(svc().sessions, "dev"))
    flash(f"Version {version.id} imported")
    return redirect(url_for("rules.version", version_id=version.id))


@bp.route("/rules/import")
def import_form():
    return render_template("rules_import.html", errors=[], text="", comment="")


@bp.route("/rules/versions/<int:version_id>")
def version(version_id: int):
    found = rulebook.get_version(svc().sessions, version_id) or abort(404)
    parent = rulebook.get_version(svc().sessions, found.parent_id) if found.parent_id else None
    before = parent.text if parent else rule_versions.file_text(svc())
    # Settings against settings: comments and layout (a form's save writes none) are not changes.
    diff = list(difflib.unified_diff(_normal(before).splitlines(), _normal(found.text).splitlines(),
                                     f"version {parent.id}" if parent else "the rules file",
                                     f"version {found.id}", lineterm="", n=2))
    where = [env for env in ENVIRONMENTS if rulebook.pinned_version_id(svc().sessions, env) == version_id]
    return render_template("rule_version.html", version=found, parent=parent, diff=diff, where=where,
                           reports=rulebook.reports(svc().sessions, version_id), environments=ENVIRONMENTS)


def _normal(text: str) -> str:
    return rule_forms.to_yaml(rule_forms.read_yaml(text))


@bp.route("/rules/versions/<int:version_id>.yaml")
def export(version_id: int):
    found = rulebook.get_version(svc().sessions, version_id) or abort(404)
    return Response(found.text, mimetype="application/yaml",
                    headers={"Content-Disposition": f"attachment; filename=rules-v{version_id}.yaml"})


@bp.route("/rules/versions/<int:version_id>/dry-run", methods=["POST"])
@requires("operator")
def dry_run(version_id: int):
    environment = request.form.get("environment", "")
    orders = request.form.get("orders", rule_versions.DRY_RUN_ORDERS, type=int)
    try:
        rule_versions.may_promote_to(svc(), version_id, environment)
        report = rule_versions.dry_run(svc(), version_id, environment, actor(), max(1, min(orders, 1000)))
    except PromotionRefused as exc:
        flash(f"Cannot promote: {exc}")
        return redirect(url_for("rules.version", version_id=version_id))
    return redirect(url_for("rules.report", report_id=report.id))


@bp.route("/rules/reports/<int:report_id>")
def report(report_id: int):
    found = rulebook.get_report(svc().sessions, report_id) or abort(404)
    return render_template("dry_run.html", report=found)


@bp.route("/rules/reports/<int:report_id>/promote", methods=["POST"])
@requires("admin")
def promote(report_id: int):
    found = rulebook.get_report(svc().sessions, report_id) or abort(404)
    try:
        rule_versions.promote(svc(), found.version_id, found.environment, report_id,
                              set(request.form.getlist("expected")), actor())
    except PromotionRefused as exc:
        flash(f"Not promoted: {exc}")
        return redirect(url_for("rules.report", report_id=report_id))
    flash(f"Version {found.version_id} promoted to {found.environment}")
    return redirect(url_for("rules.index"))


@bp.route("/rules/rollback/<environment>", methods=["POST"])
@requires("admin")
def rollback(environment: str):
    try:
        version_id = rule_versions.rollback(svc(), environment, actor())
    except PromotionRefused as exc:
        flash(f"Not rolled back: {exc}")
    else:
        flash(f"{environment} rolled back to version {version_id}")
    return redirect(url_for("rules.index"))
