import pytest

from core.settings import Settings
from runtime.bootstrap import Services


@pytest.fixture
def svc(tmp_path, redis_url, database_url, redis_client, sessions, fb_server, fb_sandbox):
    """The services over the test Redis and database, FreshBooks being the sandbox (steps called directly)."""
    return Services(Settings(home=tmp_path, redis_url=redis_url, database_url=database_url,
                             freshbooks_api_url=fb_server.url, freshbooks_account_id="SANDBOX1",
                             freshbooks_access_token="sandbox-test-token"))
