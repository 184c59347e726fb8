"""A customer whose email no FreshBooks client has: the same person under another email, or someone new?

`existing_client` is consulted by the client look-up before a create (`client_look_up`, for
workers/orders.resolve_client and workers/catalogue.upsert_client). Candidates come from FreshBooks' own name
filters; each is scored (mappings/duplicates.py) and the rules decide: bind (`auto_match`), hold for a person
(`review`), or create. Every decision is kept per email (store/matches.py), so a person's choice is never asked for
again."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager

from core import turns
from mappings.duplicates import Match, new_client_keys, person, score, search_prefixes, starts_like
from mappings.orders import NeedsReview
from store import ledger, matches
from workers.ports import StepPorts


@contextmanager
def client_look_up(svc: StepPorts, email: str, client: dict, *, event_id: str | None = None,
                   order_id: int | None = None) -> Iterator[Callable[[], dict | None]]:
    """The look-up before a client's create for an email not bound yet (`client`: the body we would create), as
    workers/exporter.ensure's `find`, under ensure's lock of the email: FreshBooks' client with the email, else the
    same person under another email (existing_client), else None. Two customers who are one person, arriving at
    once, would both find no client and both create one: so the second question is asked under locks that only
    customers whose candidate searches could find each other share (a lock per name start,
    mappings/duplicates.new_client_keys, taken in order), held from then until the block ends, over the create.
    The email's own look-up comes before them: it needs only the email's lock, and new customers sharing a name start
    wait out each other's searches and create alone, not a third call."""
    with ExitStack() as names:
        def find() -> dict | None:
            by_email = svc.freshbooks.find_client_by_email(email)
            if by_email is not None or not svc.rules.duplicates.enabled:
                return by_email
            for key in sorted(new_client_keys(client)):
                names.enter_context(svc.locks.binding("new-client", key))
            return existing_client(svc, email, client, event_id=event_id, order_id=order_id)

        yield find


def existing_client(svc: StepPorts, email: str, client: dict, *, event_id: str | None = None,
                    order_id: int | None = None) -> dict | None:
    """The client `client` (the body we would create for `email`) already is, or None to create it. Raises
    NeedsReview when a candidate is likely but not certain: "possible duplicate of client 123 (0.87: name, ...)"."""
    if not svc.rules.duplicates.enabled:
        return None
    known = matches.decision(svc.sessions, email)
    if known is not None and known.decision in ("auto", "use"):
        return {"id": known.client_id}
    if known is not None and known.decision == "new":
        return None
    best = best_candidate(svc, email, client)
    if best is None:
        return None
    match, candidate = best
    rules = svc.rules.duplicates
    if match.score >= rules.auto_match:
        matches.decide(svc.sessions, email, "auto", int(candidate["id"]), match.score, match.describe())
        ledger.audit(svc.sessions, "match", "client", int(candidate["id"]),
                     f"{email} is client {candidate['id']} ({match.describe()})", event_id, order_id)
        return candidate
    if match.score >= rules.review:
        matches.decide(svc.sessions, email, "review", int(candidate["id"]), match.score, match.describe(), event_id)
        raise NeedsReview([review_reason(int(candidate["id"]), match)])
    return None


def review_reason(client_id: int, match: Match) -> str:
    return (f"possible duplicate of client {client_id} ({match.describe()}); settle it with "
            f"`xcfb review resolve ID use-client {client_id}` or `xcfb review resolve ID create-new`")


def best_candidate(svc: StepPorts, email: str, client: dict) -> tuple[Match, dict] | None:
    me = person(client)
    scored = [(score(me, person(c)), c) for c in candidates(svc, client)
              if (c.get("email") or "").strip().lower() != email]
    return max(scored, key=lambda pair: pair[0].score, default=None)


def candidates(svc: StepPorts, client: dict) -> list[dict]:
    """Clients whose first or last name starts like this one's either name (so swapped names are found too):
    FreshBooks' `fname_like` / `lname_like` filters, every page, kept to the names that start so. A client
    sharing only a phone or an address is not looked for (FreshBooks' phone and address filters are
    undocumented in detail)."""
    prefixes = search_prefixes(client)
    searches = [{field: prefix} for prefix in sorted(prefixes) for field in ("fname_like", "lname_like")]
    if not searches:
        return []
    # Up to four searches on the way to a new customer's invoice: side by side, one call's latency instead of four;
    # waited for off this thread's turn on the CPU (core/turns.py), like any request
    with turns.waiting(), ThreadPoolExecutor(max_workers=len(searches)) as pool:
        pages = list(pool.map(svc.freshbooks.search_clients, searches))
    found = {int(c["id"]): c for page in pages for c in page}
    return [c for c in found.values() if starts_like(c, prefixes.values())]
