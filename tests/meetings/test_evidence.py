"""The meetings' evidence indicators: each figure by hand, its None cases, and a blind spot."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from partnerwell.core.models import Membership, Organisation, Partnership, Role, User
from partnerwell.healthcheck.evidence import indicators
from partnerwell.healthcheck.frameworks import load_builtin_frameworks
from partnerwell.healthcheck.models import Framework
from partnerwell.healthcheck.results import round_results
from partnerwell.meetings import attendance, evidence
from partnerwell.meetings.models import (
    AgendaItem,
    Meeting,
    MeetingReview,
    MeetingSettings,
    MeetingStatus,
    PapersPack,
)
from partnerwell.meetings.services import papers_due, settings_for
from tests.conftest import _join, _person
from tests.healthcheck.builders import add_member, answer, close_and_seal, make_round
from tests.meetings.conftest import make_meeting

KEYS = (
    "decision_maker_attendance",
    "strategic_agenda_share",
    "items_by_side",
    "papers_on_time",
    "meeting_review",
)
HELD = MeetingStatus.HELD


def _today() -> dt.date:
    return timezone.localdate()


def _membership(user: User) -> Membership:
    return Membership.objects.get(person=user)


def _cancel(meeting: Meeting) -> None:
    Meeting.objects.filter(pk=meeting.pk).update(cancelled_at=timezone.now())


def _item(meeting: Meeting | None, partnership: Partnership, **fields: object) -> AgendaItem:
    fields.setdefault("status", "accepted")
    return AgendaItem.objects.create(
        partnership=partnership, meeting=meeting, title="An item", **fields
    )


def _register(
    meeting: Meeting, presence: dict[int, str], deputies: dict[int, str] | None = None
) -> None:
    """The register as taken on the day, through the service that records it:
    membership id -> present, absent, apologies, deputy (named in `deputies`)."""
    deputies = deputies or {}
    by = meeting.created_by
    assert by is not None
    entries = [(pk, value, deputies.get(pk, "")) for pk, value in presence.items()]
    attendance.register_record(meeting=meeting, by=by, entries=entries)


def _recorded(meeting: Meeting, decision_makers: int) -> None:
    """A register recorded on a meeting the service would not take one for."""
    Meeting.objects.filter(pk=meeting.pk).update(decision_makers_present=decision_makers)


# Decision-makers at meetings ---------------------------------------------------------


def test_it_counts_decision_makers_present_at_held_meetings(
    partnership_a: Partnership,
    council: Organisation,
    alice: User,
    bob: User,
    mgmt_chair: User,
) -> None:
    a, b, m = (_membership(u).pk for u in (alice, bob, mgmt_chair))
    # Deciding deputies, observers and advisers are never on the register, so they are
    # never expected.
    _join(
        partnership_a,
        _person("dan@example.org", "Dan Deputy"),
        council,
        Role.DEPUTY,
        "Management side",
        decision_maker=True,
        deputy_for_id=a,
    )
    _join(
        partnership_a,
        _person("olive@example.org", "Olive Observer"),
        council,
        Role.OBSERVER,
        decision_maker=True,
    )
    recent = make_meeting(partnership_a, alice, days=-10, status=HELD)
    # Alice present; Mia sent a deputy who cannot decide for her; Bob does not decide: 1 of 2.
    _register(recent, {a: "present", m: "deputy", b: "present"}, {m: "Sam Stand-in"})
    earlier = make_meeting(partnership_a, alice, days=-40, status=MeetingStatus.MINUTES_APPROVED)
    # Dan, Alice's registered deputy who can decide, counts for her: 2 of 2.
    _register(earlier, {a: "deputy", m: "present"}, {a: "Dan Deputy"})
    assert Meeting.objects.get(pk=recent.pk).decision_makers_present == 1
    assert Meeting.objects.get(pk=earlier.pk).decision_makers_present == 2
    # Left out: held but no register; a year and more ago; cancelled; not yet held.
    make_meeting(partnership_a, alice, days=-20, status=HELD)
    _recorded(make_meeting(partnership_a, alice, days=-400, status=HELD), 2)
    cancelled = make_meeting(partnership_a, alice, days=-30, status=HELD)
    _recorded(cancelled, 2)
    _cancel(cancelled)
    coming = make_meeting(partnership_a, alice, days=-1, status=MeetingStatus.PAPERS_PUBLISHED)
    _recorded(coming, 2)
    # Three of the four expected decision-makers (Alice and Mia, twice) were there.
    assert evidence.decision_maker_attendance(partnership_a, _today()) == 75.0


def test_it_expects_a_decision_maker_only_while_they_are_a_member(
    partnership_a: Partnership, alice: User, mgmt_chair: User
) -> None:
    meeting = make_meeting(partnership_a, alice, days=-10, status=HELD)
    # Mia joined after the meeting, so she was not on its register nor expected at it.
    Membership.objects.filter(person=mgmt_chair).update(start_date=_today())
    _register(meeting, {_membership(alice).pk: "present"})
    assert evidence.decision_maker_attendance(partnership_a, _today()) == 100.0
    # Had she been a member, her absence would halve the figure.
    Membership.objects.filter(person=mgmt_chair).update(start_date=dt.date(2024, 1, 1))
    assert evidence.decision_maker_attendance(partnership_a, _today()) == 50.0


def test_it_has_no_decision_maker_figure_without_a_register(
    partnership_a: Partnership, alice: User
) -> None:
    assert evidence.decision_maker_attendance(partnership_a, _today()) is None
    make_meeting(partnership_a, alice, days=-10, status=HELD)
    assert evidence.decision_maker_attendance(partnership_a, _today()) is None


# Agenda time on strategic items -------------------------------------------------------


def test_it_measures_the_share_of_agenda_time_on_strategic_items(
    partnership_a: Partnership, alice: User
) -> None:
    meeting = make_meeting(partnership_a, alice, days=-10, status=HELD)
    coming = make_meeting(partnership_a, alice, days=-5)
    _item(meeting, partnership_a, nature="strategic", minutes_needed=30)
    _item(coming, partnership_a, nature="operational", minutes_needed=10)
    # Left out: declined or waiting items, forward plan, old and cancelled meetings.
    _item(meeting, partnership_a, nature="strategic", minutes_needed=60, status="declined")
    _item(meeting, partnership_a, nature="operational", minutes_needed=60, status="submitted")
    _item(None, partnership_a, nature="operational", minutes_needed=60)
    old = make_meeting(partnership_a, alice, days=-400, status=HELD)
    _item(old, partnership_a, nature="operational", minutes_needed=60)
    cancelled = make_meeting(partnership_a, alice, days=-20)
    _item(cancelled, partnership_a, nature="operational", minutes_needed=60)
    _cancel(cancelled)
    # 30 strategic minutes of 40 (the standing items, all operational, are left out).
    assert evidence.strategic_agenda_share(partnership_a, _today()) == 75.0


def test_it_has_no_strategic_share_with_only_standing_items(
    partnership_a: Partnership, alice: User
) -> None:
    assert evidence.strategic_agenda_share(partnership_a, _today()) is None
    make_meeting(partnership_a, alice, days=-10, status=HELD)
    assert evidence.strategic_agenda_share(partnership_a, _today()) is None


# Items raised by each side ------------------------------------------------------------


def test_it_compares_the_items_each_side_raises(partnership_a: Partnership, alice: User) -> None:
    management, staff = partnership_a.sides.order_by("order")
    meeting = make_meeting(partnership_a, alice, days=-10, status=HELD)
    for _ in range(3):
        _item(meeting, partnership_a, submitter_side=management)
    # A declined item was still raised; so was one for the forward plan.
    _item(None, partnership_a, submitter_side=management, status="declined")
    _item(meeting, partnership_a, submitter_side=staff)
    # Left out: no side, more than a year ago.
    _item(meeting, partnership_a, submitter_side=None)
    _item(
        None,
        partnership_a,
        submitter_side=staff,
        submitted_at=timezone.now() - dt.timedelta(days=400),
    )
    # The staff side raised 1 item to the management side's 4.
    assert evidence.items_by_side(partnership_a, _today()) == 25.0
    # Looking back from 300 days ago, only the old staff item counts: a side raised none.
    assert evidence.items_by_side(partnership_a, _today() - dt.timedelta(days=300)) == 0.0


def test_it_has_no_side_figure_without_sides_or_items(
    partnership_a: Partnership, partnership_b: Partnership, carol: User
) -> None:
    assert evidence.items_by_side(partnership_a, _today()) is None
    meeting = make_meeting(partnership_b, carol, days=-10, status=HELD)
    _item(meeting, partnership_b)
    assert evidence.items_by_side(partnership_b, _today()) is None


# Papers on time -----------------------------------------------------------------------


def _published(meeting: Meeting, at: dt.datetime, version: int = 1) -> None:
    """A pack built at `at`; the meeting keeps the time its papers were first published."""
    PapersPack.objects.create(meeting=meeting, version=version, status="ready", built_at=at)
    Meeting.objects.filter(pk=meeting.pk, papers_published_at__isnull=True).update(
        papers_published_at=at
    )


def _local(meeting: Meeting, days_before: int, hour: int, minute: int = 0) -> dt.datetime:
    day = meeting.starts_at.astimezone(meeting.tz).date() - dt.timedelta(days=days_before)
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=meeting.tz)


def test_it_counts_meetings_whose_papers_first_went_out_in_time(
    partnership_a: Partnership, alice: User
) -> None:
    MeetingSettings.objects.create(partnership=partnership_a, papers_days=5)
    # Out at 23:30 five days before: just in time.
    in_time = make_meeting(partnership_a, alice, days=-20, status=HELD)
    _published(in_time, _local(in_time, 5, 23, 30))
    # Out at 00:30 four days before: late.
    late = make_meeting(partnership_a, alice, days=-10, status=HELD)
    _published(late, _local(late, 4, 0, 30))
    # First out a week before, rebuilt the day before: it was first published in time.
    rebuilt = make_meeting(partnership_a, alice, days=-30, status=HELD)
    _published(rebuilt, _local(rebuilt, 7, 9))
    _published(rebuilt, _local(rebuilt, 1, 9), version=2)
    # Never published at all: late.
    make_meeting(partnership_a, alice, days=-3, status=HELD)
    # Left out: cancelled, more than a year ago, not yet started.
    cancelled = make_meeting(partnership_a, alice, days=-15)
    _cancel(cancelled)
    make_meeting(partnership_a, alice, days=-400, status=HELD)
    make_meeting(partnership_a, alice, days=10)
    assert evidence.papers_on_time(partnership_a, _today()) == 50.0
    # The hand-made times agree with the rule the papers area uses.
    rules = settings_for(partnership_a)
    assert _local(in_time, 5, 23, 30) <= papers_due(in_time, rules) < _local(late, 4, 0, 30)


def test_it_uses_the_default_notice_when_the_partnership_has_no_rules(
    partnership_a: Partnership, alice: User
) -> None:
    meeting = make_meeting(partnership_a, alice, days=-20, status=HELD)
    # The default is five days: six days before is on time, four days before is not.
    _published(meeting, _local(meeting, 6, 9))
    assert evidence.papers_on_time(partnership_a, _today()) == 100.0
    Meeting.objects.filter(pk=meeting.pk).update(papers_published_at=_local(meeting, 4, 9))
    assert evidence.papers_on_time(partnership_a, _today()) == 0.0


def test_it_has_no_papers_figure_without_meetings(partnership_a: Partnership, alice: User) -> None:
    assert evidence.papers_on_time(partnership_a, _today()) is None
    make_meeting(partnership_a, alice, days=10)
    assert evidence.papers_on_time(partnership_a, _today()) is None


# Meeting review scores ---------------------------------------------------------------


def _reviews(meeting: Meeting, *scores: tuple[int, int, int]) -> None:
    for a, v, t in scores:
        MeetingReview.objects.create(
            meeting=meeting, added_value=a, voices_heard=v, time_well_spent=t
        )


def test_it_turns_review_scores_into_a_figure_out_of_100(
    partnership_a: Partnership, alice: User
) -> None:
    first = make_meeting(partnership_a, alice, days=-40, status=HELD)
    second = make_meeting(partnership_a, alice, days=-10, status=HELD)
    _reviews(first, (5, 5, 5), (3, 3, 3))
    _reviews(second, (4, 2, 3))
    _reviews(make_meeting(partnership_a, alice, days=-400, status=HELD), (1, 1, 1))
    # (15 + 9 + 9) / 9 answers = 3.667 on 1–5, so (3.667 - 1) × 25 = 66.7.
    assert evidence.meeting_review(partnership_a, _today()) == 66.7


def test_it_leaves_open_reviews_out_of_the_review_figure(
    partnership_a: Partnership, alice: User
) -> None:
    closed = make_meeting(partnership_a, alice, days=-40, status=HELD)
    _reviews(closed, (5, 5, 5), (3, 3, 3), (4, 4, 4))
    still_open = make_meeting(partnership_a, alice, days=-1, status=HELD)
    Meeting.objects.filter(pk=still_open.pk).update(review_open=True)
    _reviews(still_open, (1, 1, 1))
    assert evidence.meeting_review(partnership_a, _today()) == 75.0
    Meeting.objects.filter(pk=still_open.pk).update(review_open=False)
    # (36 + 3) / 12 = 3.25 on 1–5, so 56.2 out of 100.
    assert evidence.meeting_review(partnership_a, _today()) == 56.2


def test_it_has_no_review_figure_below_the_anonymity_floor(
    partnership_a: Partnership, alice: User
) -> None:
    assert evidence.meeting_review(partnership_a, _today()) is None
    meeting = make_meeting(partnership_a, alice, days=-10, status=HELD)
    _reviews(meeting, (5, 5, 5), (5, 5, 5))
    assert evidence.meeting_review(partnership_a, _today()) is None
    _reviews(meeting, (1, 1, 1))
    assert evidence.meeting_review(partnership_a, _today()) == pytest.approx(66.7)


# Registration, mapping and cost -------------------------------------------------------


def test_it_registers_the_five_meeting_indicators() -> None:
    registered = {i.key: i for i in indicators()}
    assert set(KEYS) <= set(registered)
    assert registered["items_by_side"].compute is evidence.items_by_side
    for key in KEYS:
        # Each rule is plain words people can check against the records.
        assert len(registered[key].rule.split()) > 20


def test_it_maps_each_indicator_to_principles_of_the_model_social_partnership() -> None:
    [spec] = [s for s in load_builtin_frameworks() if s.key == "model-social-partnership"]
    mapped = {p.key: set(p.evidence) for p in spec.principles()}
    assert "decision_maker_attendance" in mapped["membership-skills-accountability"]
    assert {"items_by_side", "strategic_agenda_share", "papers_on_time"} <= mapped[
        "joint-agenda-setting"
    ]
    assert "papers_on_time" in mapped["communications"]
    assert "meeting_review" in mapped["improvement-and-review"]


def _busy_partnership(partnership: Partnership, by: User, meetings: int) -> None:
    management, staff = partnership.sides.order_by("order")
    members = list(Membership.objects.filter(partnership=partnership))
    for n in range(meetings):
        meeting = make_meeting(partnership, by, days=-5 - 7 * n, status=HELD)
        _register(meeting, {m.pk: "present" for m in members})
        _item(meeting, partnership, submitter_side=management if n % 2 else staff)
        _published(meeting, meeting.starts_at - dt.timedelta(days=6))
        _reviews(meeting, (4, 4, 4), (3, 3, 3), (5, 5, 5))


def test_it_computes_each_indicator_with_a_constant_number_of_queries(
    partnership_a: Partnership, alice: User, mgmt_chair: User
) -> None:
    computes: list[Callable[[Partnership, dt.date], float | None]] = [
        evidence.decision_maker_attendance,
        evidence.strategic_agenda_share,
        evidence.items_by_side,
        evidence.papers_on_time,
        evidence.meeting_review,
    ]
    _busy_partnership(partnership_a, alice, 2)
    with CaptureQueriesContext(connection) as few:
        small = [c(partnership_a, _today()) for c in computes]
    _busy_partnership(partnership_a, alice, 10)
    with CaptureQueriesContext(connection) as many:
        large = [c(partnership_a, _today()) for c in computes]
    assert None not in small
    assert None not in large
    assert len(many) == len(few)
    assert len(few) <= 8


# End to end: members' ratings against the meeting records -------------------------------


@pytest.fixture
def model_partnership() -> Framework:
    return Framework.objects.get(scope="builtin", key="model-social-partnership")


def _rated(partnership: Partnership, framework: Framework, organisation: Organisation, value: int):
    """A round where three staff-side members rate only joint agenda setting, all alike."""
    round = make_round(partnership, framework)
    answers = {f"msp-agd-{n}": value for n in range(1, 5)}
    for _ in range(3):
        answer(round, add_member(partnership, organisation, side="Staff side"), answers)
    # Results appear once a round has closed (and its answers are sealed).
    close_and_seal(round)
    return round


def test_it_flags_a_blind_spot_when_one_side_raises_almost_every_item(
    partnership_a: Partnership, alice: User, model_partnership: Framework, union: Organisation
) -> None:
    management, staff = partnership_a.sides.order_by("order")
    meeting = make_meeting(partnership_a, alice, days=-10, status=HELD)
    for _ in range(4):
        _item(meeting, partnership_a, submitter_side=management)
    _item(meeting, partnership_a, submitter_side=staff)
    round = _rated(partnership_a, model_partnership, union, 5)
    results = round_results(round)
    [row] = [r for r in results["evidence"] if r["indicator"] == "items_by_side"]
    assert row["principle"] == "joint-agenda-setting"
    assert row["value"] == 25.0
    assert row["band"] == "concern"
    assert row["flag"] == "blind_spot"
    [principle] = [
        p for a in results["areas"] for p in a["principles"] if p["key"] == "joint-agenda-setting"
    ]
    assert principle["score"] == 100.0


def test_it_has_no_flag_when_the_sides_raise_items_evenly(
    partnership_a: Partnership, alice: User, model_partnership: Framework, union: Organisation
) -> None:
    management, staff = partnership_a.sides.order_by("order")
    meeting = make_meeting(partnership_a, alice, days=-10, status=HELD)
    for side in (management, staff, management, staff):
        _item(meeting, partnership_a, submitter_side=side)
    round = _rated(partnership_a, model_partnership, union, 5)
    [row] = [r for r in round_results(round)["evidence"] if r["indicator"] == "items_by_side"]
    assert row["value"] == 100.0
    assert row["flag"] is None


def test_it_shows_the_meeting_indicator_and_its_rule_on_the_results_page(
    alice_client: Client,
    partnership_a: Partnership,
    alice: User,
    model_partnership: Framework,
    union: Organisation,
) -> None:
    management, _ = partnership_a.sides.order_by("order")
    _item(
        make_meeting(partnership_a, alice, days=-10, status=HELD),
        partnership_a,
        submitter_side=management,
    )
    round = _rated(partnership_a, model_partnership, union, 5)
    page = alice_client.get(f"/rounds/{round.pk}/results/").content.decode()
    assert "Agenda items raised by each side" in page
    assert "the side that raised fewest" in page  # the rule, in words
