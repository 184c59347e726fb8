"""`xcfb`: the one console command for people."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="xcfb", description="X-Cart <-> FreshBooks integration service")
    commands = parser.add_subparsers(dest="command", required=True)

    sandbox = commands.add_parser("sandbox", help="run an API sandbox")
    sandboxes = sandbox.add_subparsers(dest="which", required=True)
    freshbooks = sandboxes.add_parser("freshbooks", help="the FreshBooks API emulator")
    add_freshbooks_sandbox_options(freshbooks)
    freshbooks.set_defaults(run=run_freshbooks_sandbox)

    args = parser.parse_args(argv)
    return args.run(args) or 0


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


def run_freshbooks_sandbox(args: argparse.Namespace) -> int:
    from sandboxes.freshbooks.app import SandboxConfig, create_app, sandbox_of
    from sandboxes.freshbooks.faults import FaultSettings
    from sandboxes.freshbooks.oauth import OAuthSettings
    from sandboxes.serve import serve_forever

    config = SandboxConfig(
        account_id=args.account_id, currency=args.currency, validation_status=args.validation_status,
        unique_invoice_numbers=args.unique_invoice_numbers, state_path=args.state,
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
