"""The fault suite and the e2e tests point this process's Celery app at one broker after another; coming
back to a broker used before must send again, and so must every other Celery app of the process (the
operator CLI's sender): they share kombu's pools, which once were closed under them (every webhook 503)."""

from celery import Celery

from core.settings import Settings
from harness.stage import use_broker
from runtime.bootstrap import broker_url
from workers.app import app as celery_app

ELSEWHERE = "redis://127.0.0.1:1/0"  # never connected to: switching brokers does not connect


def test_coming_back_to_a_broker_sends_again(tmp_path, redis_url, redis_client):
    here = broker_url(Settings(home=tmp_path, redis_url=redis_url))
    other_app = Celery("other", broker=here)  # e.g. the operator CLI's sender, alive for the whole process
    before = redis_client.llen("xcfb-probe")
    use_broker(celery_app, here)
    celery_app.send_task("xcfb.probe", args=[1], queue="xcfb-probe")
    other_app.send_task("xcfb.probe", args=[2], queue="xcfb-probe")
    use_broker(celery_app, ELSEWHERE)
    use_broker(celery_app, here)
    celery_app.send_task("xcfb.probe", args=[3], queue="xcfb-probe")
    other_app.send_task("xcfb.probe", args=[4], queue="xcfb-probe")
    assert redis_client.llen("xcfb-probe") == before + 4
    redis_client.delete("xcfb-probe")
