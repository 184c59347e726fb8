"""The rules as form fields, one per setting, named by its path; and back from a submitted form to YAML.

A field's value is text in the form; it goes back to the type the setting had (a switch, a number, a word),
and the rules' own validation (mappings/rules.py) then names every bad setting by its path, which is also
the field's label, so the error shows beside its field."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import yaml

from mappings.rules import ACTIONS, ROUNDING, _DecimalLoader

PREFIX = "rule:"
CHOICES = {  # paths with a fixed set of values ("*": any key)
    ("currency", "policy"): ("keep", "convert"),
    ("status", "payment", "*"): ACTIONS,
    ("status", "fulfilment", "*"): ACTIONS,
    ("status", "unknown"): ACTIONS,
    ("taxes", "unmapped"): ("book", "review"),
    ("taxes", "tax_shipping"): ("auto", "true", "false"),
    ("taxes", "map", "*", "shipping"): ("auto", "true", "false"),
    ("items", "unmapped"): ("line", "review"),
    ("invoice", "create_as"): ("draft", "sent"),
    ("invoice", "rounding"): tuple(ROUNDING),
}
# The order chain, each step with the sections of the rules that shape it (the flow designer draws these). An
# optional step is drawn when the rules have its section (its `enabled` switch, when it has one, turns it off).
STEPS = (
    ("validation", "data quality beyond the schema: totals, addresses, emails", ("validation",), True),
    ("anomaly check", "orders unlike this store's own: flagged or held", ("anomalies",), True),
    ("duplicate check", "a new email that looks like a known client", ("clients",), True),
    ("resolve client", "the customer's FreshBooks client, found by email or created", (), False),
    ("sync items", "a FreshBooks item per SKU", ("items",), False),
    ("create invoice", "the invoice: lines, taxes, currency", ("invoice", "taxes", "currency"), False),
    ("reconcile payment", "what X-Cart collected, booked as payments; statuses decide the invoice's fate",
     ("status",), False),
    ("credit notes", "refunds and cancellations after payment", ("refunds",), True),
    ("both-way sync", "customers and catalogue: which side owns each field", ("sync",), True),
)


def steps(fields: list[Field]) -> list[tuple[str, str, list[Field]]]:
    """The chain's steps with their fields; an optional step only when the rules have its section."""
    drawn = []
    for name, what, sections, optional in STEPS:
        own = [f for f in fields if f.path[0] in sections]
        if optional and not own:
            continue
        drawn.append((name, what, own))
    return drawn


def step_switches(fields: list[Field]) -> list[str]:
    """The labels of the fields that switch a step on or off (`validation.enabled`)."""
    return [f.label for f in fields if len(f.path) == 2 and f.path[1] == "enabled"]


def outside_steps(fields: list[Field]) -> list[Field]:
    sections = {section for *_, owned, _ in STEPS for section in owned}
    return [f for f in fields if f.path[0] not in sections]


@dataclass(frozen=True)
class Field:
    path: tuple[str, ...]
    value: str
    choices: tuple[str, ...] | None
    switch: bool

    @property
    def label(self) -> str:
        return ".".join(self.path)

    @property
    def name(self) -> str:
        return PREFIX + json.dumps(list(self.path))


def read_yaml(text: str) -> dict:
    document = yaml.load(text, Loader=_DecimalLoader)  # noqa: S506 - a SafeLoader subclass
    return document if isinstance(document, dict) else {}


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(Decimal, lambda dumper, value: dumper.represent_scalar("tag:yaml.org,2002:float",
                                                                                str(value)))


def to_yaml(document: dict) -> str:
    return yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False)


def fields_of(document: dict) -> list[Field]:
    found = []
    _walk(document, (), found)
    return found


def _walk(value, path: tuple[str, ...], found: list[Field]) -> None:
    if isinstance(value, dict) and value:
        for key, item in value.items():
            _walk(item, (*path, str(key)), found)
        return
    if isinstance(value, dict | list):  # an empty mapping: entries are added by YAML import
        return
    found.append(Field(path, _text(value), _choices(path), isinstance(value, bool) and _choices(path) is None))


def _choices(path: tuple[str, ...]) -> tuple[str, ...] | None:
    for pattern, choices in CHOICES.items():
        if len(pattern) == len(path) and all(p in ("*", part) for p, part in zip(pattern, path, strict=True)):
            return tuple(choices)
    return None


def _text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def document_from_form(base: dict, form) -> dict:
    """The base document with every field the form sent put back at its path, in the type it had."""
    document = copy.deepcopy(base)
    originals = {f.path: f for f in fields_of(base)}
    for name in form:
        if not name.startswith(PREFIX):
            continue
        try:
            path = tuple(json.loads(name[len(PREFIX):]))
        except ValueError:
            continue
        if path not in originals:
            continue  # only settings the document has: new entries come by YAML import
        _put(document, path, _typed(form.get(name), _get(base, path), originals[path].choices))
    for path, field in originals.items():  # an unticked switch is not sent at all
        if field.switch and field.name not in form:
            _put(document, path, False)
    return add_entries(document, form)


# Entries a form can add to the rules' maps (more by YAML import): per step, the map, its key and the fields.
ADDITIONS = {
    "sync items": ("items", "sku_overrides", "SKU", ("name", "description")),
    "create invoice": ("taxes", "map", "X-Cart tax code", ("name", "percent")),
    "reconcile payment": ("status", "payment", "X-Cart payment status", ("action",)),
}


def add_entries(document: dict, form) -> dict:
    """Puts the form's new map entries (`add:taxes.map:key`, `add:taxes.map:name`...) into the document; an
    existing key is replaced: that is how a tax gets a fixed percent."""
    for section, name, _, parts in ADDITIONS.values():
        prefix = f"add:{section}.{name}:"
        key = (form.get(prefix + "key") or "").strip()
        if not key:
            continue
        values = {part: (form.get(prefix + part) or "").strip() for part in parts}
        entries = document.setdefault(section, {}).setdefault(name, {})
        if parts == ("action",):
            entries[key] = values["action"]
        else:
            entries[key] = {part: _number_or_text(value) for part, value in values.items() if value}
    return document


def _number_or_text(text: str):
    try:
        return Decimal(text) if any(c.isdigit() for c in text) and not any(c.isalpha() for c in text) else text
    except InvalidOperation:
        return text


def _get(document: dict, path: tuple[str, ...]):
    for key in path:
        document = document[key]
    return document


def _put(document: dict, path: tuple[str, ...], value) -> None:
    for key in path[:-1]:
        document = document[key]
    document[path[-1]] = value


def _typed(text: str, original, choices: tuple[str, ...] | None):
    text = (text or "").strip()
    if choices == ("auto", "true", "false"):
        return {"true": True, "false": False}.get(text, text)
    if isinstance(original, bool):
        return text in ("true", "on", "1")
    if isinstance(original, int) and not isinstance(original, bool):
        return int(text) if text.lstrip("-").isdigit() else text
    if isinstance(original, Decimal | float):
        try:
            return Decimal(text)
        except InvalidOperation:
            return text
    if original is None:
        return None if text == "" else text
    return text
