"""The X-Cart REST client's typed errors, with `responses` standing in for X-Cart: what may pass is Retryable,
what cannot is Fatal, and no message carries the token."""

import pytest
import requests
import responses

from apis.xcart.client import XCartClient, XCartRefused, XCartUnavailable
from core.errors import Fatal, Retryable

BASE = "https://shop.test/api"
TOKEN = "xc-SECRET-token"


@pytest.fixture
def client():
    return XCartClient(BASE, TOKEN)


@responses.activate
@pytest.mark.parametrize("status", [429, 500, 502, 503])
def test_429_and_5xx_are_retryable_with_retry_after(client, status):
    responses.get(f"{BASE}/orders/7", status=status, headers={"Retry-After": "12"}, body="busy")
    with pytest.raises(XCartUnavailable) as raised:
        client.order(7)
    assert isinstance(raised.value, Retryable) and not isinstance(raised.value, Fatal)
    assert (raised.value.status, raised.value.retry_after) == (status, 12.0)


@responses.activate
@pytest.mark.parametrize("failure", [requests.ConnectTimeout("connect"), requests.ReadTimeout("read"),
                                     requests.ConnectionError("refused")])
def test_timeouts_and_lost_connections_are_retryable(client, failure):
    responses.get(f"{BASE}/orders/7", body=failure)
    with pytest.raises(XCartUnavailable) as raised:
        client.order(7)
    assert isinstance(raised.value, Retryable) and raised.value.retry_after is None


@responses.activate
@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_4xx_is_fatal_and_names_path_and_status_not_the_token(client, status):
    responses.get(f"{BASE}/orders/7", status=status, body="no such order")
    with pytest.raises(XCartRefused) as raised:
        client.order(7)
    assert isinstance(raised.value, Fatal) and not isinstance(raised.value, Retryable)
    assert str(raised.value) == f"X-Cart GET /orders/7: HTTP {status}: no such order"
    assert TOKEN not in str(raised.value)
