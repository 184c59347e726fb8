"""A person's browser on the FreshBooks sandbox's consent page: reads the form, presses Allow (or Deny), and
returns where FreshBooks sends the browser next (the redirect URI with the code or the error)."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import urljoin

import requests


def consent(authorization_url: str, decision: str = "approve") -> str:
    page = requests.get(authorization_url, timeout=5)
    page.raise_for_status()
    fields = {name: unescape(value)
              for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page.text)}
    action = re.search(r'<form method="post" action="([^"]+)">', page.text)
    assert action, page.text
    answer = requests.post(urljoin(authorization_url, action.group(1)), data={**fields, "decision": decision},
                           allow_redirects=False, timeout=5)
    assert answer.status_code in (302, 303), answer.text
    return answer.headers["Location"]
