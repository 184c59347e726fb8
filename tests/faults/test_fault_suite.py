"""The fault suite as a test tier: each scenario on the real pipeline (worker and beat processes, the real
broker and database, both sandboxes) must end with no duplicate, no lost order and no dead letter left open
(step-exceptions: one `failed` dead letter per injected exception, each booked once replayed; poison
payloads: each refused with 400, or accepted and then parked, none lost).
Run it alone with `pytest tests/faults -s` to see the figures, or `xcfb faults` for the full sizes."""

import pytest

from harness.faultsuite import SCENARIOS, Options, report, run_scenario


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_scenario_books_every_order_exactly_once(name, tmp_path, redis_url, database_url):
    result = run_scenario(name, Options(orders=25, outage_seconds=8, timeout=240, home=tmp_path))
    print("\n" + report([result]))
    assert result.converged, result.notes
    assert (result.duplicates, result.lost, result.dead_lettered, result.not_final) == (0, 0, 0, 0), result.notes
    assert result.workers_exited == 0, result.notes
    assert result.invoices_booked > 15
    assert result.passed
    if name == "freshbooks-faults":
        assert any("alerts raised 1, cleared 1" in note for note in result.notes)
        assert result.sandbox_faults["ghost"] == 10  # the sandbox's own count, read after the workers ran
    if name == "step-exceptions":
        assert result.step_exceptions > 0
        assert result.failed_letters == result.step_exceptions  # one `failed` dead letter per injected exception
        # and the events each failed chain covered (store/coalescing.py) parked with it: all replayed, booked once
        assert result.replayed == result.failed_letters + result.companion_letters
    if name == "poison-payloads":  # every poison body refused (400) or accepted and then parked, none lost
        assert not [note for note in result.notes if " answered " in note], result.notes
        assert result.poison_accepted and f"dead-lettered {len(result.poison_accepted)}," in result.notes[-1]
