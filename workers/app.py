import logging

import kombu.transport
from celery import Celery, signals

from runtime.bootstrap import BrokerUnavailable, BrokerUnusable, check_broker

log = logging.getLogger(__name__)

# kombu's Redis transport with one failure mode fixed (workers/broker.py), by name: kombu imports it when the first
# connection needs it, so that a transport that cannot load is reported by refuse_an_unusable_broker below.
for _scheme in ("redis", "rediss"):
    kombu.transport.TRANSPORT_ALIASES[_scheme] = "workers.broker:Transport"

app = Celery("xcfb", include=["workers.tasks"])
app.config_from_object("celeryconfig")


@signals.celeryd_init.connect  # before the worker first loads the transport
def refuse_an_unusable_broker(sender=None, **_) -> None:
    """A worker that can never use its broker (transport not installed, malformed URL, refused password)
    stops at once with the reason, instead of retrying for ever; one that is merely down is retried."""
    try:
        check_broker(app.conf.broker_url)
    except BrokerUnusable as exc:
        raise SystemExit(f"xcfb worker: {exc}") from None
    except BrokerUnavailable as exc:
        log.warning("%s; retrying", exc)
