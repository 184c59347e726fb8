"""`xcfb reconcile` without a store to read, and its history before any run: clear lines, no traceback."""

import pytest

from core.settings import Settings
from runtime import bootstrap
from runtime.bootstrap import Services
from xcfb.cli import main


@pytest.fixture
def services(tmp_path, redis_url, database_url, redis_client, sessions):
    svc = Services(Settings(home=tmp_path, redis_url=redis_url, database_url=database_url,
                            freshbooks_access_token="unused", freshbooks_account_id="SANDBOX1"))
    bootstrap.use(svc)
    yield svc
    bootstrap.use(None)


def test_without_x_cart_connected_it_says_so(services, capsys):
    assert main(["reconcile", "--since", "2026-11-01"], plugins=[]) == 2
    assert "xcfb: reconciliation reads X-Cart's orders: connect the store first (xcfb connect xcart" \
        in capsys.readouterr().err


def test_history_before_any_run(services, capsys):
    assert main(["reconcile", "history"], plugins=[]) == 0
    assert "no reconciliation has run yet" in capsys.readouterr().out
