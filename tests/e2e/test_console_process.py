"""The Procfile's console process: `xcfb users add`, then `xcfb console --port`, served by gunicorn on the same
store as the workers; a person signs in over HTTP and the session cookie is set as the flags say."""

import os
import re
import subprocess

import requests

from tests.e2e.processes import ROOT, XCFB, free_port, start, stop


def test_xcfb_console_serves_the_console_to_a_user_made_with_xcfb_users(tmp_path, redis_url, database_url,
                                                                         redis_client, sessions):
    env = {**os.environ, "XCFB_HOME": str(tmp_path), "REDIS_URL": redis_url, "DATABASE_URL": database_url}
    added = subprocess.run([*XCFB, "users", "add", "ops@example.com", "--role", "operator", "--password-stdin"],
                           input="a long enough password\n", capture_output=True, text=True, cwd=ROOT, env=env,
                           timeout=60)
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip() == "user ops@example.com added as operator"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = start([*XCFB, "console", "--port", str(port), "--insecure-cookies"], f"{base}/sign-in", env=env)
    try:
        browser = requests.Session()
        first = browser.get(f"{base}/dead-letters", timeout=5, allow_redirects=False)
        assert first.status_code == 302 and first.headers["Location"].startswith("/sign-in")
        form = browser.get(f"{base}/sign-in", timeout=5).text
        token = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', form).group(1)
        signed_in = browser.post(f"{base}/sign-in", timeout=5, allow_redirects=False,
                                 data={"email": "ops@example.com", "password": "a long enough password",
                                       "csrf_token": token, "next": "/dead-letters"})
        assert signed_in.status_code == 302 and signed_in.headers["Location"] == "/dead-letters"
        cookie = next(c for c in signed_in.raw.headers.getlist("Set-Cookie") if c.startswith("xcfb_console="))
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" not in cookie  # --insecure-cookies
        page = browser.get(f"{base}/dead-letters", timeout=5)
        assert page.status_code == 200 and "ops@example.com" in page.text and "Nothing here." in page.text
    finally:
        stop(process)
