"""`xcfb connect freshbooks`: the OAuth authorization-code flow from the terminal, `--revoke`, and the
FreshBooks section of `xcfb connect status`. The flow itself is runtime/freshbooks_connect.py, shared with
ingest's /oauth/freshbooks/callback."""

from __future__ import annotations

import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import urlsplit

import click

from apis.freshbooks.errors import FreshBooksError
from runtime import freshbooks_connect as flow
from xcfb.operations import OperatorError

LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")


@click.command("freshbooks")
@click.option("--account-id", metavar="ID", help="the business to book into, when the user has several")
@click.option("--code", metavar="CODE_OR_URL", help="the code, or the whole URL FreshBooks redirected to, "
              "instead of waiting for the redirect")
@click.option("--callbacks-uri", metavar="URL", help="this service's /webhooks/freshbooks as FreshBooks reaches "
              f"it: subscribes it to {', '.join(flow.CALLBACK_EVENTS)} changes")
@click.option("--no-wait", is_flag=True, help="print the authorization URL and exit: the redirect then completes "
              "the connection on ingest's /oauth/freshbooks/callback (the redirect URI)")
@click.option("--timeout", type=float, default=300.0, show_default=True, metavar="SECONDS",
              help="how long the local listener waits for the redirect")
@click.option("--revoke", is_flag=True, help="disconnect: delete the callbacks, the stored tokens and connection")
def freshbooks(account_id: str | None, code: str | None, callbacks_uri: str | None, no_wait: bool, timeout: float,
               revoke: bool) -> int:
    """Connect the service to a FreshBooks business (OAuth), or disconnect it (--revoke).

    Opens nothing by itself: it prints the authorization URL to open in a browser. When the redirect URI
    (FRESHBOOKS_REDIRECT_URI) is on this machine (localhost), it listens there once for FreshBooks' redirect;
    otherwise it asks for the URL the browser was sent to (or take it with --code)."""
    from runtime.bootstrap import services

    svc = services()
    try:
        if revoke:
            return _echo(flow.disconnect(svc))
        if code:
            return _connect(svc, flow.read_redirect(code), account_id, callbacks_uri, expected_state=None)
        url, state = flow.start(svc, account_id, callbacks_uri)
        click.echo(f"Open this URL in a browser and approve the access:\n\n  {url}\n")
        if no_wait:
            return _echo([f"FreshBooks will send the browser to {svc.settings.freshbooks_redirect_uri}; ingest "
                          f"completes the connection there (within {flow.STATE_TTL // 60} minutes)."])
        redirect_uri = svc.settings.freshbooks_redirect_uri
        if urlsplit(redirect_uri).hostname in LOCAL_HOSTS:
            click.echo(f"Waiting for the redirect on {redirect_uri} ...")
            redirect = wait_for_redirect(redirect_uri, state, timeout)
        else:
            redirect = flow.read_redirect(click.prompt("Paste the URL FreshBooks sent the browser to (or the code)"))
        return _connect(svc, redirect, account_id, callbacks_uri, expected_state=state)
    except (flow.ConnectError, FreshBooksError) as exc:
        raise OperatorError(str(exc)) from None


def _connect(svc, redirect: flow.Redirect, account_id: str | None, callbacks_uri: str | None,
             expected_state: str | None) -> int:
    if redirect.error:
        raise OperatorError(f"FreshBooks did not authorize the service: {redirect.error}")
    if not redirect.code:
        raise OperatorError("no authorization code in what was given")
    if redirect.state is not None or expected_state is not None:  # a bare pasted code carries no state
        if expected_state is not None and redirect.state not in (None, expected_state):
            raise OperatorError("the redirect's state is not the one this command started: ignored")
        pending = flow.take_state(svc, redirect.state or expected_state)
        if pending is None:
            raise OperatorError("this authorization is unknown or expired: run `xcfb connect freshbooks` again")
        account_id = account_id or pending.get("account_id")
        callbacks_uri = callbacks_uri or pending.get("callbacks_uri")
    pair, found = flow.exchange(svc, redirect.code)
    try:
        business = flow.choose(found, account_id)
    except flow.ChoiceNeeded as several:
        business = _ask(several.businesses)
    connection = flow.save(svc, pair, business)
    lines = [f"connected to {business}", f"scopes granted: {' '.join(connection['scopes']) or 'none said'}"]
    missing = [scope for scope in flow.NEEDED_SCOPES if scope not in connection["scopes"]]
    if missing:
        lines.append(f"MISSING scopes the service needs: {' '.join(missing)}")
    if callbacks_uri:
        lines += [f"callback {cb['id']} registered for {cb['event']} -> {cb['uri']}; trusted once FreshBooks "
                  "confirms its verifier" for cb in flow.register_callbacks(svc, callbacks_uri)]
    return _echo(lines)


def _ask(businesses: list[flow.Business]) -> flow.Business:
    click.echo("This FreshBooks user belongs to several businesses:")
    for business in businesses:
        click.echo(f"  {business}")
    chosen = click.prompt("Account id to book into", type=click.Choice([b.account_id for b in businesses]))
    return next(b for b in businesses if b.account_id == chosen)


def wait_for_redirect(redirect_uri: str, state: str, timeout: float) -> flow.Redirect:
    """Listens once on the redirect URI's host, port and path for FreshBooks' redirect carrying `state`;
    anything else is answered 400 and the wait goes on."""
    where = urlsplit(redirect_uri)
    received: list[flow.Redirect] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server name
            redirect = flow.read_redirect(self.path)
            if urlsplit(self.path).path != (where.path or "/") or redirect.state != state:
                self._answer(400, "Not the redirect xcfb connect is waiting for.")
                return
            received.append(redirect)
            self._answer(200, "FreshBooks answered; xcfb connect goes on in the terminal. You may close this page.")

        def _answer(self, status: int, text: str) -> None:
            body = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:  # the request line carries the code: never printed
            pass

    deadline = time.monotonic() + timeout
    with HTTPServer((where.hostname, where.port or 80), Handler) as server:
        while not received:
            left = deadline - time.monotonic()
            if left <= 0:
                raise OperatorError(f"no redirect reached {redirect_uri} within {timeout:g}s")
            server.timeout = left
            server.handle_request()
    return received[0]


def status(svc) -> list[str]:
    return flow.status(svc)


def _echo(lines: list[str]) -> int:
    click.echo("\n".join(lines))
    return 0
