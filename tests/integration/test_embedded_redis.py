"""The embedded Redis's start-up check under Celery's gevent pool: many greenlets of one process asking for the
socket at once (a worker's first tasks each reaching for the services) must not freeze the process. A blocking
file lock taken twice by one process did: the second flock blocked the hub while the holder, another greenlet,
waited for the server's answer (the pool bench's gevent hang)."""

import subprocess
import sys
from pathlib import Path

from core.embedded import stop_embedded_redis

ROOT = Path(__file__).parents[2]
GREENLETS = """
from gevent import monkey; monkey.patch_all()
import sys
from pathlib import Path
import gevent
from core.embedded import embedded_redis_socket

home = Path(sys.argv[1])
embedded_redis_socket(home)  # started: the greenlets below only check it answers, as a worker's do
askers = [gevent.spawn(embedded_redis_socket, home) for _ in range(50)]
gevent.joinall(askers, timeout=20)
print(sum(1 for asker in askers if asker.successful()))
"""


def test_greenlets_asking_for_the_embedded_redis_at_once_all_get_it(tmp_path):
    home = tmp_path / "home"
    try:
        done = subprocess.run([sys.executable, "-c", GREENLETS, str(home)], cwd=ROOT, capture_output=True,  # noqa: S603
                              text=True, timeout=30)
    except subprocess.TimeoutExpired:
        raise AssertionError("the process froze: greenlets deadlocked on the embedded Redis's start lock") from None
    finally:
        stop_embedded_redis(home)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["50"]
