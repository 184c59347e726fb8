"""gunicorn "console.wsgi:app": the console on this process's settings (the same as the workers')."""

from console.app import create_app
from runtime.bootstrap import services, task_sender_app

_sender = task_sender_app()
app = create_app(services(), lambda name, args: _sender.send_task(name, args=args))
