"""Quorum rules at their boundaries (the pure rule checker, no database)."""

from __future__ import annotations

from partnerwell.meetings.quorum import PresentMember, QuorumRule, check_quorum

COUNCIL, UNION, CHARITY = 1, 2, 3
MGMT, STAFF = 10, 20


def member(
    org: int = COUNCIL, sector: str = "local_authority", side: int | None = MGMT
) -> PresentMember:
    return PresentMember(organisation_id=org, sector=sector, side_id=side)


def test_it_has_no_verdict_without_a_rule() -> None:
    result = check_quorum(QuorumRule(), [member()])
    assert result.met is None
    assert result.checks == []
    assert not QuorumRule().is_set


def test_it_meets_a_minimum_exactly() -> None:
    result = check_quorum(QuorumRule(min_members=3), [member(), member(), member()])
    assert result.met is True
    assert result.checks[0].rule == "At least 3 members present."
    assert result.checks[0].missing == []


def test_it_misses_a_minimum_by_one() -> None:
    result = check_quorum(QuorumRule(min_members=3), [member(), member()])
    assert result.met is False
    assert result.checks[0].missing == ["1 more member"]


def test_it_needs_each_chosen_organisation() -> None:
    rule = QuorumRule(organisations={COUNCIL: "Council", UNION: "UNISON", CHARITY: "Carers"})
    all_there = check_quorum(rule, [member(COUNCIL), member(UNION), member(CHARITY)])
    one_missing = check_quorum(rule, [member(COUNCIL), member(CHARITY), member(CHARITY)])
    assert all_there.met is True
    assert one_missing.met is False
    assert one_missing.checks[0].missing == ["UNISON"]


def test_it_needs_each_chosen_sector() -> None:
    rule = QuorumRule(
        sectors={"local_authority": "Local authority", "nhs_provider": "NHS provider"}
    )
    met = check_quorum(rule, [member(sector="local_authority"), member(sector="nhs_provider")])
    missed = check_quorum(rule, [member(sector="local_authority"), member(sector="voluntary")])
    assert met.met is True
    assert missed.met is False
    assert missed.checks[0].missing == ["NHS provider"]


def test_it_counts_a_deputy_for_the_only_staff_side_member() -> None:
    rule = QuorumRule(sides={MGMT: "Management side", STAFF: "Staff side"})
    # The caller passes the member's organisation, sector and side for a deputy's row.
    deputy_for_staff_member = member(UNION, "trade_union", STAFF)
    with_deputy = check_quorum(rule, [member(side=MGMT), deputy_for_staff_member])
    without = check_quorum(rule, [member(side=MGMT)])
    assert with_deputy.met is True
    assert without.met is False
    assert without.checks[0].missing == ["Staff side"]


def test_it_needs_every_part_of_a_combined_rule() -> None:
    rule = QuorumRule(min_members=2, organisations={UNION: "UNISON"}, sides={MGMT: "M", STAFF: "S"})
    met = check_quorum(rule, [member(COUNCIL, side=MGMT), member(UNION, side=STAFF)])
    assert met.met is True and len(met.checks) == 3
    # Enough people and both sides, but no one from the union.
    missed = check_quorum(rule, [member(COUNCIL, side=MGMT), member(CHARITY, side=STAFF)])
    assert missed.met is False
    assert [c.met for c in missed.checks] == [True, False, True]
    assert missed.missing == ["UNISON"]


def test_it_round_trips_through_json() -> None:
    result = check_quorum(QuorumRule(min_members=2), [member()])
    again = type(result).from_dict(result.as_dict())
    assert again == result
    assert result.as_dict()["checks"][0] == {
        "rule": "At least 2 members present.",
        "met": False,
        "missing": ["1 more member"],
    }
