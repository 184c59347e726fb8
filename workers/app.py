import logging

from celery import Celery, signals

from runtime.bootstrap import BrokerUnavailable, BrokerUnusable, check_broker
from workers import broker  # noqa: F401 - registers the workers' Redis transport before the first connection

log = logging.getLogger(__name__)

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
