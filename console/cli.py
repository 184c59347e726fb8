"""`xcfb console`: the web console, served by gunicorn on this process's settings (added to `xcfb` through
the xcfb.commands entry point: the console is above the operator's package, which never imports it)."""

from __future__ import annotations

import click


@click.command("console")
@click.option("--host", default="127.0.0.1", show_default=True, help="address to listen on")
@click.option("--port", default=8300, show_default=True, type=int)
@click.option("--threads", default=8, show_default=True, type=int, help="requests served at once")
@click.option("--insecure-cookies", is_flag=True,
              help="send the session cookie over plain HTTP too (only behind a TLS proxy that strips it, or on a "
                   "private network; localhost needs no such flag)")
def console(host: str, port: int, threads: int, insecure_cookies: bool) -> None:
    """The web console: dashboard, orders, dead letters, flow designer, rule versions."""
    from gunicorn.app.base import BaseApplication

    from console.app import create_app
    from runtime.bootstrap import services, task_sender_app

    sender = task_sender_app()
    app = create_app(services(), lambda name, args: sender.send_task(name, args=args),
                     secure_cookies=not insecure_cookies)

    class Server(BaseApplication):
        def load_config(self):
            for key, value in {"bind": f"{host}:{port}", "workers": 1, "threads": threads,
                               "worker_class": "gthread", "accesslog": "-"}.items():
                self.cfg.set(key, value)

        def load(self):
            return app

    click.echo(f"console on http://{host}:{port} (sign in with a user made by `xcfb users add`)")
    Server().run()
