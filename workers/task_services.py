"""The services one task run sees: the process's services, with the rules read once for the whole run.

`Services.rules` is re-read from the pinned version every few seconds (runtime/pinned_rules.py), and a step reads
it several times (the plan, the invoice status, the tax policy...): a promotion landing mid-step would otherwise
make one invoice from two versions. The run keeps the first version it reads; the next task picks up the new one."""

from __future__ import annotations

from functools import cached_property

from mappings.rules import Rules


class OneRuleVersion:
    """Everything of `svc` as it is, but `rules`: read on first use (a task that never reads them never
    touches the rule tables), then the same object until the run ends."""

    def __init__(self, svc):
        self._svc = svc

    @cached_property
    def rules(self) -> Rules:
        return self._svc.rules

    def __getattr__(self, name: str):
        return getattr(self._svc, name)
