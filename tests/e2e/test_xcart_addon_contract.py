"""The X-Cart add-on's contract, proven with its own PHP code (addons/xcart/, run by Debian's php-cli) against
the ingest endpoint served by gunicorn as in production, with the signing secrets made by `xcfb connect
webhooks` (then rotated): fresh 202, again 200 duplicate, tampered 401, the new and the old secret both
accepted; and exactly the accepted bodies, byte for byte, are what ingest queued for the workers."""

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import uuid

from tests.e2e.processes import ROOT, XCFB, free_port, start, stop

ADDON = ROOT / "addons" / "xcart"
ORDER = ROOT / "tests" / "fixtures" / "xcart" / "order_5_5.json"


def php(*args: str) -> subprocess.CompletedProcess:
    binary = shutil.which("php")
    assert binary, "php is not installed: apt-get install php-cli (.ci/run installs it)"  # fails, never skips
    return subprocess.run([binary, *args], capture_output=True, text=True, timeout=60, cwd=ROOT)


def connect_webhooks(env: dict, *args: str) -> str:
    done = subprocess.run([*XCFB, "connect", "webhooks", *args], capture_output=True, text=True, env=env, cwd=ROOT,
                          timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return re.search(r"Signing secret:\s+(\S+)", done.stdout).group(1)


def queued_bodies(redis_client) -> list[str]:
    """The raw event bodies ingest sent as xcfb.process_event, from the broker's queue (kombu's envelope)."""
    bodies = []
    for message in reversed(redis_client.lrange("xcfb", 0, -1)):  # kombu pushes on the left: oldest last
        envelope = json.loads(message)
        assert envelope["headers"]["task"] == "xcfb.process_event"
        args, _kwargs, _embed = json.loads(base64.b64decode(envelope["body"]))
        bodies.append(args[0])
    return bodies


def test_the_addons_php_signs_and_posts_per_the_contract(tmp_path, redis_url, database_url, redis_client, sessions):
    redis_client.delete("xcfb")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "XCFB_HOME": str(tmp_path), "REDIS_URL": redis_url, "DATABASE_URL": database_url,
           "XCART_WEBHOOK_SECRETS": ""}
    old = connect_webhooks(env, "--url", url)
    new = connect_webhooks(env, "--rotate")
    process = start([sys.executable, "-m", "gunicorn", "--workers", "1", "--bind", f"127.0.0.1:{port}",
                     "ingest.wsgi:app"], f"{url}/healthz", env=env)
    try:
        ran = php(str(ADDON / "tests" / "contract.php"), f"{url}/webhooks/xcart", old, new, "teashop-prod",
                  str(ORDER), uuid.uuid4().hex)
        assert ran.returncode == 0 and not ran.stderr, ran.stdout + ran.stderr
        results = {result["case"]: result for result in json.loads(ran.stdout)["results"]}

        fresh = results["fresh"]
        assert (fresh["status"], fresh["outcome"], fresh["answer"]) == (202, "accepted",
                                                                        {"status": "accepted", "id": fresh["id"]})
        event = json.loads(fresh["body"])
        assert event["type"] == "order.created" and event["store"] == "teashop-prod"
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", event["created_at"])
        assert event["data"]["order_number"] == "10457" and event["data"]["total"] == 76.54
        again = results["again"]
        assert (again["id"], again["status"], again["answer"]["status"]) == (fresh["id"], 200, "duplicate")
        tampered = results["tampered"]
        assert tampered["tampering_changed_the_body"]
        assert (tampered["status"], tampered["outcome"], tampered["answer"]["status"]) == (401, "dead",
                                                                                            "bad_signature")
        for case in ("rotated_new", "rotated_old"):
            assert (results[case]["status"], results[case]["answer"]["status"]) == (202, "accepted"), case
        product = json.loads(results["rotated_new"]["body"])["data"]
        assert product["update_date"] == "2026-11-29T09:00:00+0000" and "internal" not in product  # the DTO
        assert product["images"] == [] and product["price"] == 12.0

        delivery = results["delivery"]
        assert delivery["counts"] == {"sent": 2, "retry": 0, "dead": 0} and not delivery["logged"]
        assert [(row["state"], row["last_status"]) for row in delivery["rows"]] == [("sent", 202), ("sent", 200)]

        accepted = [results[case]["body"] for case in ("fresh", "rotated_new", "rotated_old", "delivery")]
        assert queued_bodies(redis_client) == accepted  # each once, as sent: nothing of the duplicate, the tampered
    finally:
        stop(process)
        redis_client.delete("xcfb")


def test_the_addons_sender_retries_what_may_pass_and_keeps_aside_what_cannot():
    ran = php(str(ADDON / "tests" / "delivery_test.php"))
    assert ran.returncode == 0 and ran.stdout.strip().endswith("delivery: ok"), ran.stdout + ran.stderr


def test_every_php_file_of_the_addon_parses():
    """The X-Cart glue cannot run here without a store (see the README); php -l at least parses each file."""
    files = sorted(ADDON.rglob("*.php"))
    assert len(files) >= 15
    for file in files:
        linted = php("-l", str(file))
        assert linted.returncode == 0, linted.stdout + linted.stderr
