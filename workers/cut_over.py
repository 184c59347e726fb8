"""Whether a first create of an invoice searches its number first (rules `invoice.look_up_first: true`): only when
the number could clash with an invoice FreshBooks held at the cut-over.

The cut-over is read once per FreshBooks account, the first time a first create needs it: every active invoice,
paged (a few calls once; ceil(invoices / 100)), reduced to the highest number per prefix
(mappings/invoice_numbers.py) and kept in the store (store/cut_overs.py). From then on an order numbered above the
mark of its prefix is created without the search, unless another order the service received carries the same
number: no invoice held at the cut-over can carry its number, and every invoice booked since is the service's own,
for an order it has recorded (store.snapshots), each created once under its intent row
(workers/orders.create_invoice: an intent without a binding always searches, whatever the cut-over). Everything
else is searched, and a clash goes to a person's review as before: a renumbered store reusing old numbers (before
the cut-over or since), an invoice typed in by hand before the cut-over, a number without trailing digits, leading
zeros.

What the cut-over cannot see is an invoice typed in by hand after it with a number the store has not reached yet;
FreshBooks refusing the create for its number sends the order to review the same way (`create_invoice`), and
`xcfb reconcile` lists two invoices with one number as `duplicate_number`.

When the read fails (FreshBooks unreachable, a refusal, the lock held by another worker's read for longer than a
binding's wait), nothing is stored and the order is searched: the safe way, as without a cut-over; the next first
create tries the read again."""

from __future__ import annotations

import logging

from apis.freshbooks.errors import FreshBooksError
from core.errors import Retryable
from mappings.invoice_numbers import high_marks, may_clash
from store import cut_overs, snapshots
from workers.ports import StepPorts

log = logging.getLogger(__name__)


def may_be_taken(svc: StepPorts, invoice_number: str, order_id: int) -> bool:
    """Whether an invoice in FreshBooks may carry this order's number: one held at the cut-over (True when the
    cut-over is unknown), or one the service booked since for another order with the same number."""
    return snapshots.numbered_elsewhere(svc.sessions, invoice_number, order_id) or may_clash(invoice_number, marks(svc))


def marks(svc: StepPorts) -> dict[str, str] | None:
    """The account's cut-over marks, read from FreshBooks and stored the first time; None when the read failed."""
    try:
        account_id = str(svc.freshbooks.account_id)
        stored = cut_overs.get(svc.sessions, account_id)
        if stored is not None:
            return stored.marks
        with svc.locks.binding("cut_over", account_id):  # one worker reads; the others wait for its reading
            stored = cut_overs.get(svc.sessions, account_id)
            if stored is None:
                invoices = svc.freshbooks.list_invoices()
                stored = cut_overs.keep(svc.sessions, account_id,
                                        high_marks(i.get("invoice_number") for i in invoices), len(invoices))
                log.info("invoice cut-over of FreshBooks account %s: %d invoices read, highest numbers %s",
                         account_id, stored.invoices_read, stored.marks)
            return stored.marks
    except (FreshBooksError, Retryable) as exc:
        log.warning("the invoice cut-over could not be read (%s): this invoice's number is searched first", exc)
        return None
