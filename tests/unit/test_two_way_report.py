"""The demo's two-way verdict (harness/two_way_demo.TwoWayReport): issue 14's done-when, each part able to fail it."""

from harness.two_way_demo import TwoWayReport


def settled(**changes) -> TwoWayReport:
    report = TwoWayReport(edits=11, sync_writes=11, groups=177, duplicates=6, duplicates_bound=5,
                          duplicates_in_review=1)
    for name, value in changes.items():
        setattr(report, name, value)
    return report


def test_agreeing_sides_without_echo_writes_and_every_duplicate_bound_or_held_is_correct():
    assert settled().correct
    assert settled(duplicates_without_orders=2).correct  # a near-duplicate who never ordered has nothing to bind


def test_a_disagreement_an_echo_write_or_a_duplicate_given_its_own_client_fails_it():
    assert not settled(disagreements=["client 7 contact: X-Cart a != FreshBooks b"]).correct
    assert not settled(sync_writes=12).correct  # one write answered an echo
    assert not settled(duplicates_apart=1).correct  # the same person, now two clients in the books
