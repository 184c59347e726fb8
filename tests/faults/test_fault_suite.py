"""The fault suite as a test tier: each scenario on the real pipeline (worker and beat processes, the real
broker and database, both sandboxes) must end with no duplicate, no lost order and nothing dead-lettered.
Run it alone with `pytest tests/faults -s` to see the figures, or `xcfb faults` for the full sizes."""

import pytest

from xcfb.faultsuite import SCENARIOS, Options, report, run_scenario


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_scenario_books_every_order_exactly_once(name, tmp_path, redis_url, database_url):
    result = run_scenario(name, Options(orders=25, outage_seconds=8, timeout=240, home=tmp_path))
    print("\n" + report([result]))
    assert result.converged, result.notes
    assert (result.duplicates, result.lost, result.dead_lettered) == (0, 0, 0), result.notes
    assert result.workers_exited == 0, result.notes
    assert result.invoices_booked > 15
    if name == "freshbooks-faults":
        assert any("alerts raised 1, cleared 1" in note for note in result.notes)
        assert "0 ghost creates" not in result.notes[0]
