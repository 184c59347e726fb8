"""`xcfb`: the one console command for people."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from xcfb import operations
from xcfb.operations import OperatorError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="xcfb", description="X-Cart <-> FreshBooks integration service")
    commands = parser.add_subparsers(dest="command", required=True)

    sandbox = commands.add_parser("sandbox", help="run an API sandbox")
    sandboxes = sandbox.add_subparsers(dest="which", required=True)
    freshbooks = sandboxes.add_parser("freshbooks", help="the FreshBooks API emulator")
    add_freshbooks_sandbox_options(freshbooks)
    freshbooks.set_defaults(run=run_freshbooks_sandbox)
    xcart = sandboxes.add_parser("xcart", help="the X-Cart store simulator (REST API and signed webhooks)")
    add_xcart_sandbox_options(xcart)
    xcart.set_defaults(run=run_xcart_sandbox)

    dlq = commands.add_parser("dlq", help="the dead-letter queue: events that need a person")
    dlq_commands = dlq.add_subparsers(dest="dlq_command", required=True)
    listing = dlq_commands.add_parser("list", help="open dead letters (--all for every one)")
    listing.add_argument("--all", action="store_true")
    listing.set_defaults(run=run_dlq_list)
    for name, helptext, run in (("show", "one dead letter, with its errors and payload", run_dlq_show),
                                ("discard", "close it without booking anything", run_dlq_discard)):
        command = dlq_commands.add_parser(name, help=helptext)
        command.add_argument("id", type=int)
        command.set_defaults(run=run)
    replay = dlq_commands.add_parser("replay", help="run the event again (after fixing the rules or the payload)")
    replay.add_argument("id", type=int)
    replay.add_argument("--payload", metavar="FILE", help="replace the event's payload with this JSON file first")
    replay.set_defaults(run=run_dlq_replay)

    events = commands.add_parser("events", help="what happened to X-Cart events")
    events_commands = events.add_subparsers(dest="events_command", required=True)
    show = events_commands.add_parser("show", help="an order's events, invoice and changes in FreshBooks")
    show.add_argument("order", help="order number or X-Cart order id")
    show.set_defaults(run=run_events_show)

    hooks = commands.add_parser("callbacks", help="FreshBooks webhook callbacks")
    hooks_commands = hooks.add_subparsers(dest="callbacks_command", required=True)
    register = hooks_commands.add_parser("register", help="subscribe a URI to a FreshBooks event; ingest and a "
                                                          "worker then complete the verifier handshake")
    register.add_argument("event", help="e.g. invoice, payment.create (a bare noun: all its events)")
    register.add_argument("uri", help="this service's /webhooks/freshbooks, as FreshBooks reaches it")
    register.set_defaults(run=run_callbacks_register)

    demo = commands.add_parser("demo", help="the whole pipeline on the embedded defaults and the sandboxes")
    demo.add_argument("--orders", type=int, default=300)
    demo.add_argument("--seed", type=int, default=1)
    demo.add_argument("--timeout", type=float, default=300, help="seconds to wait for every order to settle")
    demo.set_defaults(run=run_demo)

    faults = commands.add_parser("faults", help="the fault suite: the pipeline under failures, with its figures")
    faults.add_argument("scenario", nargs="*", help="scenarios to run (default: all)")
    faults.add_argument("--orders", type=int, default=100)
    faults.add_argument("--outage", type=float, default=60.0, metavar="SECONDS")
    faults.add_argument("--timeout", type=float, default=600.0)
    faults.set_defaults(run=run_faults)

    args = parser.parse_args(argv)
    try:
        return args.run(args) or 0
    except OperatorError as exc:
        print(f"xcfb: {exc}", file=sys.stderr)
        return 2


def _services():
    from runtime.bootstrap import services

    return services()


def _send(name: str, args: list) -> None:
    from workers.app import app

    app.send_task(name, args=args)


def _print(lines: list[str]) -> int:
    print("\n".join(lines))
    return 0


def run_dlq_list(args) -> int:
    return _print(operations.list_dead_letters(_services(), None if args.all else "open"))


def run_dlq_show(args) -> int:
    return _print(operations.show_dead_letter(_services(), args.id))


def run_dlq_replay(args) -> int:
    payload = _read_text(args.payload) if args.payload else None
    event_id = operations.replay(_services(), args.id, _send, payload)
    return _print([f"event {event_id} queued again"])


def _read_text(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise OperatorError(f"{path} is not UTF-8 text (byte {exc.start}): save it as UTF-8") from None
    except OSError as exc:
        raise OperatorError(f"cannot read {path}: {exc.strerror or exc}") from None


def run_dlq_discard(args) -> int:
    return _print([f"event {operations.discard(_services(), args.id)} discarded"])


def run_events_show(args) -> int:
    return _print(operations.show_order(_services(), args.order))


def run_callbacks_register(args) -> int:
    from apis.freshbooks.errors import FreshBooksError
    from runtime.callbacks import register

    try:
        callback = register(_services(), args.event, args.uri)
    except FreshBooksError as exc:
        raise OperatorError(f"FreshBooks refused the callback: {exc}") from None
    return _print([f"callback {callback['id']} registered for {args.event} -> {args.uri}; "
                   "it is trusted once FreshBooks confirms the verifier sent to that URI"])


def run_faults(args) -> int:
    import os

    from harness.faultsuite import SCENARIOS, Options, run

    unknown = [name for name in args.scenario if name not in SCENARIOS]
    if unknown:
        raise OperatorError(f"unknown scenario(s) {', '.join(unknown)}; choose from {', '.join(SCENARIOS)}")
    home = Path(os.environ.get("XCFB_HOME", "var")).resolve() / "faults"
    return run(args.scenario, Options(args.orders, args.outage, args.timeout, home))


def run_demo(args) -> int:
    from harness.demo import run

    return run(orders=args.orders, seed=args.seed, timeout=args.timeout)


def add_freshbooks_sandbox_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--account-id", default="SANDBOX1")
    parser.add_argument("--currency", default="USD", help="the account's base currency")
    parser.add_argument("--token", action="append", default=[], metavar="TOKEN",
                        help="an access token accepted without OAuth (repeatable)")
    parser.add_argument("--client-id", default="sandbox-client-id", help="OAuth client id")
    parser.add_argument("--client-secret", default="sandbox-client-secret", help="OAuth client secret")
    parser.add_argument("--state", metavar="SQLITE_FILE", help="keep the books in this SQLite file")
    parser.add_argument("--admin-token", help="require this bearer token on /_sandbox/ admin endpoints")
    parser.add_argument("--validation-status", type=int, choices=(400, 422), default=422)
    parser.add_argument("--unique-invoice-numbers", action="store_true",
                        help="refuse a second invoice with the same number (FreshBooks itself accepts it)")
    faults = parser.add_argument_group("faults (also switchable at run time: POST /_sandbox/faults)")
    faults.add_argument("--rate-limit", type=int, metavar="N", help="answer 429 beyond N requests per window")
    faults.add_argument("--rate-window", type=float, default=1.0, metavar="SECONDS")
    faults.add_argument("--no-retry-after", action="store_true", help="send 429 without a Retry-After header")
    faults.add_argument("--fail-next", type=int, default=0, metavar="N", help="answer the next N requests 503")
    faults.add_argument("--outage", type=float, default=0, metavar="SECONDS", help="answer 503 for SECONDS")
    faults.add_argument("--latency-ms", type=int, default=0)
    faults.add_argument("--ghost-creates", type=int, default=0, metavar="N",
                        help="store the next N creates but lose their answer")
    faults.add_argument("--ghost-mode", choices=("error", "timeout"), default="error")
    faults.add_argument("--ghost-delay", type=float, default=35.0, metavar="SECONDS")


def add_xcart_sandbox_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8200)
    parser.add_argument("--seed", type=int, default=1, help="the same seed gives the same store")
    parser.add_argument("--customers", type=int, default=20)
    parser.add_argument("--products", type=int, default=15)
    parser.add_argument("--currency", default="USD", help="the store's main currency")
    parser.add_argument("--api-token", default="xcart-sandbox-token", help="the X-Auth-Token of the REST API")
    parser.add_argument("--admin-token", help="require this bearer token on /_sandbox/ admin endpoints")
    hooks = parser.add_argument_group("webhooks")
    hooks.add_argument("--target", metavar="URL", help="deliver signed webhooks here, e.g. "
                                                       "http://127.0.0.1:8000/webhooks/xcart")
    hooks.add_argument("--secret", action="append", default=[], metavar="SECRET",
                       help="signing secret (repeat while rotating: one v1= per secret)")
    hooks.add_argument("--orders", type=int, default=0, help="place this many orders at start-up")
    hooks.add_argument("--duplicates", type=float, default=0.0, metavar="RATE", help="share of events sent twice")
    hooks.add_argument("--reorder", type=int, default=0, metavar="N", help="shuffle deliveries within N events")


def run_xcart_sandbox(args: argparse.Namespace) -> int:
    from sandboxes.serve import serve_forever
    from sandboxes.xcart.app import create_app, store_of
    from sandboxes.xcart.store import StoreConfig
    from sandboxes.xcart.webhooks import DeliveryOptions, WebhookSender

    if args.target and not args.secret:
        print("xcfb: --target needs at least one --secret to sign with", file=sys.stderr)
        return 2
    sender = WebhookSender(args.target, args.secret, DeliveryOptions(duplicate_rate=args.duplicates,
                                                                     reorder_window=args.reorder),
                           seed=args.seed) if args.target else None
    config = StoreConfig(seed=args.seed, customers=args.customers, products=args.products, currency=args.currency,
                         api_token=args.api_token, admin_token=args.admin_token)
    app = create_app(config, sender)
    store = store_of(app)
    if args.orders:
        store.place_orders(args.orders)
    if sender:
        sender.enqueue(list(store.events))
    print(f"X-Cart store simulator: {len(store.orders)} orders, {len(store.profiles)} customers, "
          f"{len(store.products)} products; REST API http://{args.host}:{args.port}/api/"
          + (f"; webhooks to {args.target}" if args.target else ""), file=sys.stderr)
    serve_forever(app, args.host, args.port)
    return 0


def run_freshbooks_sandbox(args: argparse.Namespace) -> int:
    from sandboxes.freshbooks.app import SandboxConfig, create_app, sandbox_of
    from sandboxes.freshbooks.faults import FaultSettings
    from sandboxes.freshbooks.oauth import OAuthSettings
    from sandboxes.serve import serve_forever

    config = SandboxConfig(
        account_id=args.account_id, currency=args.currency, validation_status=args.validation_status,
        unique_invoice_numbers=args.unique_invoice_numbers, state_path=args.state, admin_token=args.admin_token,
        oauth=OAuthSettings(client_id=args.client_id, client_secret=args.client_secret,
                            static_tokens=tuple(args.token)),
        faults=FaultSettings(rate_limit=args.rate_limit, rate_window=args.rate_window,
                             retry_after=not args.no_retry_after, fail_next=args.fail_next,
                             latency_ms=args.latency_ms, ghost_creates=args.ghost_creates,
                             ghost_mode=args.ghost_mode, ghost_delay=args.ghost_delay),
    )
    app = create_app(config)
    if args.outage:
        sandbox_of(app).faults.configure({"outage_seconds": args.outage})
    print(f"FreshBooks sandbox, account {args.account_id}; API base http://{args.host}:{args.port}",
          file=sys.stderr)
    serve_forever(app, args.host, args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
