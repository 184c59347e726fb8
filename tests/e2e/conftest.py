import pytest

from runtime import bootstrap
from tests.e2e.pipeline import run_pipeline, settings_for


@pytest.fixture
def pipeline_factory(tmp_path, redis_url, database_url, redis_client, sessions, fb_server, fb_sandbox):
    """Starts ingest and a worker over the test Redis and database; settings can be adjusted per test."""
    from tests.e2e.pipeline import Pipeline

    running = []

    def start(**overrides):
        settings = settings_for(tmp_path, redis_url, database_url, fb_server.url, **overrides)
        services, ingest, worker = run_pipeline(settings, redis_client)
        ingest.start()
        worker.__enter__()
        running.append((ingest, worker))
        return Pipeline(services, ingest.url, services.freshbooks)

    yield start
    for ingest, worker in running:
        worker.__exit__(None, None, None)
        ingest.stop()
    bootstrap.use(None)
