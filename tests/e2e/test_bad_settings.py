"""A setting that cannot be used stops each process at once, with one line naming the variable: no traceback,
no process left booting again and again."""

import os
import subprocess
import sys

import pytest

from tests.e2e.processes import ROOT, XCFB, free_port

ENTRY_POINTS = {  # name: (command, exit code, the line's prefix)
    "worker": ([sys.executable, "-m", "celery", "-A", "workers", "worker", "--pool", "threads"], 1, "xcfb: "),
    "beat": ([sys.executable, "-m", "celery", "-A", "workers", "beat"], 1, "xcfb: "),
    # 3: gunicorn's master stops when a worker cannot boot. One worker: with two failing at once, gunicorn 27's
    # master reaps the second while halting and dies with a traceback of its own (its race, not our output).
    "ingest": ([sys.executable, "-m", "gunicorn", "--workers", "1", "--bind", "127.0.0.1:{port}", "ingest.wsgi:app"],
               3, "xcfb ingest: "),
    "demo": ([*XCFB, "demo", "--orders", "3"], 2, "xcfb demo: "),
}


@pytest.mark.parametrize("entry_point", ENTRY_POINTS)
def test_a_bad_value_stops_the_process_with_one_line_naming_the_variable(entry_point, tmp_path):
    command, code, prefix = ENTRY_POINTS[entry_point]
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    env.update(XCFB_HOME=str(tmp_path), XCFB_MAX_RETRIES="eight", XCFB_METRICS_TOKEN="never_shown_4321")
    finished = subprocess.run([part.format(port=free_port()) for part in command], env=env, cwd=ROOT,  # noqa: S603
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120)
    assert finished.returncode == code, finished.stdout
    expected = f"{prefix}XCFB_MAX_RETRIES: input should be a valid integer"
    said = [line for line in finished.stdout.splitlines() if line.startswith(prefix)]
    assert said and said[-1].startswith(expected) and said[-1].endswith("got 'eight'"), finished.stdout
    assert "Traceback" not in finished.stdout and "never_shown_4321" not in finished.stdout
