"""The meeting review: opening and closing it, anonymous answers by link, results and trend."""

from __future__ import annotations

import html
from typing import Any

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connection
from django.template.loader import render_to_string
from django.test import Client
from django.test.utils import CaptureQueriesContext

from partnerwell.core.models import Partnership, User
from partnerwell.meetings import review
from partnerwell.meetings.models import (
    Attendance,
    HeldReview,
    Meeting,
    MeetingReview,
    MeetingStatus,
    Presence,
    ReviewInvitation,
)
from tests.meetings.conftest import make_meeting


@pytest.fixture
def held(partnership_a: Partnership, alice: User) -> Meeting:
    """A meeting of partnership A held yesterday, its review not yet open."""
    return make_meeting(
        partnership_a, alice, days=-1, status=MeetingStatus.HELD, title="June forum"
    )


@pytest.fixture
def open_review(held: Meeting) -> Meeting:
    """The review open with its shared link on (the chair's option), as the room link tests need."""
    Meeting.objects.filter(pk=held.pk).update(review_open=True, review_shared_link=True)
    held.refresh_from_db()
    return held


@pytest.fixture
def held_b(partnership_b: Partnership, carol: User) -> Meeting:
    return make_meeting(partnership_b, carol, days=-1, status=MeetingStatus.HELD)


def _answers(meeting: Meeting, *scores: tuple[int, int, int], comment: str = "") -> None:
    for a, v, t in scores:
        MeetingReview.objects.create(
            meeting=meeting, added_value=a, voices_heard=v, time_well_spent=t, comment=comment
        )


def _present(meeting: Meeting, *people: User) -> None:
    for person in people:
        Attendance.objects.create(
            meeting=meeting,
            membership=person.memberships.get(partnership=meeting.partnership),
            presence=Presence.PRESENT,
        )


def _link(meeting: Meeting) -> str:
    return f"/meeting-review/{meeting.review_token}/"


ANSWER = {"added_value": "4", "voices_heard": "2", "time_well_spent": "5", "comment": "Too long."}


# Opening and closing -------------------------------------------------------------------


def test_it_opens_the_review(alice_client: Client, held: Meeting, bob: User) -> None:
    _present(held, bob)
    response = alice_client.post(f"/meetings/{held.pk}/review/open/")
    assert response.status_code == 302
    held.refresh_from_db()
    assert held.review_open is True
    # Personal links only, unless the chair turns the shared link on.
    assert held.review_shared_link is False
    assert ReviewInvitation.objects.filter(meeting=held).count() == 1


def test_it_refuses_to_reopen_a_review_that_closed_with_answers(
    alice_client: Client, held: Meeting
) -> None:
    _answers(held, (4, 4, 4), (3, 3, 3), (5, 5, 5))
    response = alice_client.post(f"/meetings/{held.pk}/review/open/", follow=True)
    assert "cannot be opened again" in response.content.decode()
    held.refresh_from_db()
    assert held.review_open is False


def test_it_lets_a_chair_close_the_review(mgmt_chair_client: Client, open_review: Meeting) -> None:
    response = mgmt_chair_client.post(f"/meetings/{open_review.pk}/review/close/")
    assert response.status_code == 302
    open_review.refresh_from_db()
    assert open_review.review_open is False


@pytest.mark.parametrize("action", ["open", "close"])
def test_it_refuses_get_for_opening_and_closing(
    alice_client: Client, held: Meeting, action: str
) -> None:
    assert alice_client.get(f"/meetings/{held.pk}/review/{action}/").status_code == 405


def test_it_forbids_a_plain_member_to_open_the_review(bob_client: Client, held: Meeting) -> None:
    assert bob_client.post(f"/meetings/{held.pk}/review/open/").status_code == 403
    held.refresh_from_db()
    assert held.review_open is False


def test_it_forbids_a_plain_member_to_close_the_review(
    bob_client: Client, open_review: Meeting
) -> None:
    assert bob_client.post(f"/meetings/{open_review.pk}/review/close/").status_code == 403
    open_review.refresh_from_db()
    assert open_review.review_open is True


def test_it_will_not_open_the_review_before_the_meeting_starts(
    alice_client: Client, alice: User, meeting: Meeting
) -> None:
    response = alice_client.post(f"/meetings/{meeting.pk}/review/open/")
    assert response.status_code == 302
    meeting.refresh_from_db()
    assert meeting.review_open is False
    with pytest.raises(ValidationError, match="once the meeting has started"):
        review.review_open(meeting=meeting, by=alice)


def test_it_will_not_open_a_cancelled_meetings_review(alice: User, held: Meeting) -> None:
    Meeting.objects.filter(pk=held.pk).update(cancelled_at=held.starts_at)
    held.refresh_from_db()
    with pytest.raises(ValidationError, match="cancelled"):
        review.review_open(meeting=held, by=alice)


@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("post", "review/open/"),
        ("post", "review/close/"),
        ("get", "review/"),
        ("get", "review/print/"),
    ],
)
def test_it_hides_another_partnerships_meeting_review(
    carol_client: Client, held: Meeting, method: str, suffix: str
) -> None:
    response = getattr(carol_client, method)(f"/meetings/{held.pk}/{suffix}")
    assert response.status_code == 404


def test_it_hides_another_partnerships_review_trend(
    carol_client: Client, partnership_a: Partnership, held: Meeting
) -> None:
    assert carol_client.get(f"/partnerships/{partnership_a.pk}/meeting-reviews/").status_code == 404


# Answering by link ---------------------------------------------------------------------


def test_it_shows_the_three_questions_without_sign_in(open_review: Meeting) -> None:
    page = Client().get(_link(open_review))
    assert page.status_code == 200
    text = html.unescape(page.content.decode())
    assert len(review.QUESTIONS) == 3
    for label, lowest, highest in (
        (
            "How much did this meeting add to the partnership's work?",
            "Nothing: we could have done without it",
            "A great deal: it moved things forward",
        ),
        (
            "How well were all voices heard?",
            "Badly: a few people did all the talking",
            "Very well: everyone had a fair chance to speak and be listened to",
        ),
        (
            "How well did we spend our time on what matters?",
            "Badly: the time went on things that matter little",
            "Very well: the time went on what matters most",
        ),
    ):
        assert label in text
        # Both ends of the scale are spelt out.
        assert lowest in text
        assert highest in text
    assert "not a guarantee" in text


def test_it_stores_an_answer_with_no_link_to_a_person(open_review: Meeting) -> None:
    response = Client().post(_link(open_review), ANSWER)
    assert response.status_code == 302
    # Held apart while the review is open; in the results once it closes.
    assert HeldReview.objects.filter(meeting=open_review).count() == 1
    assert not MeetingReview.objects.exists()
    review.review_close(meeting=open_review, by=open_review.created_by)
    assert not HeldReview.objects.exists()
    [answer] = MeetingReview.objects.filter(meeting=open_review)
    assert (answer.added_value, answer.voices_heard, answer.time_well_spent) == (4, 2, 5)
    assert answer.comment == "Too long."
    fields = {"id", "meeting", "added_value", "voices_heard", "time_well_spent", "comment"}
    assert {f.name for f in MeetingReview._meta.get_fields()} == fields
    assert {f.name for f in HeldReview._meta.get_fields()} == fields


def test_it_stores_a_signed_in_members_answer_anonymously_too(
    bob_client: Client, open_review: Meeting
) -> None:
    assert bob_client.post(_link(open_review), ANSWER).status_code == 302
    assert HeldReview.objects.filter(meeting=open_review).count() == 1


def test_it_discourages_a_second_answer_from_the_same_browser(open_review: Meeting) -> None:
    browser = Client()
    browser.post(_link(open_review), ANSWER)
    again = browser.get(_link(open_review)).content.decode()
    assert "This browser has answered this review" in again
    assert review.QUESTIONS[0].label not in again
    browser.post(_link(open_review), ANSWER)
    assert HeldReview.objects.filter(meeting=open_review).count() == 1
    # Another browser can still answer: the shared link cannot limit answers to one a person.
    Client().post(_link(open_review), ANSWER)
    assert HeldReview.objects.filter(meeting=open_review).count() == 2


def test_it_explains_a_missing_score_and_stores_nothing(open_review: Meeting) -> None:
    response = Client().post(_link(open_review), {**ANSWER, "voices_heard": ""})
    assert response.status_code == 200
    assert "How well were all voices heard?” with a score from 1 to 5" in response.content.decode()
    assert not MeetingReview.objects.exists()


def test_it_refuses_a_score_outside_one_to_five(open_review: Meeting) -> None:
    response = Client().post(_link(open_review), {**ANSWER, "added_value": "7"})
    assert response.status_code == 200
    assert "There is a problem" in response.content.decode()
    assert not MeetingReview.objects.exists()


def test_it_says_plainly_when_the_review_is_closed(held: Meeting) -> None:
    response = Client().get(_link(held))
    assert response.status_code == 410
    assert "is closed, so it takes no more answers" in response.content.decode()
    Client().post(_link(held), ANSWER)
    assert not MeetingReview.objects.exists()


def test_it_says_plainly_when_the_link_is_unknown(db: None) -> None:
    response = Client().get("/meeting-review/" + "x" * 43 + "/")
    assert response.status_code == 404
    assert "We do not know this link" in response.content.decode()


def test_it_refuses_an_answer_once_closed_in_the_service(held: Meeting) -> None:
    with pytest.raises(ValidationError, match="closed"):
        review.review_submit(meeting=held, added_value=3, voices_heard=3, time_well_spent=3)


def test_it_refuses_a_bad_score_in_the_service(open_review: Meeting) -> None:
    with pytest.raises(ValidationError) as caught:
        review.review_submit(meeting=open_review, added_value=0, voices_heard=3, time_well_spent=3)
    assert caught.value.message_dict == {"added_value": ["Choose a score from 1 to 5."]}
    assert not MeetingReview.objects.exists()


# Results ------------------------------------------------------------------------------


def test_it_shows_nothing_below_the_anonymity_floor(bob_client: Client, held: Meeting) -> None:
    _answers(held, (1, 1, 1), (2, 2, 2), comment="Secret remark")
    results = review.review_results(held)
    assert results["shown"] is False
    assert results["count"] is None
    assert results["questions"] == []
    assert results["comments"] == []
    page = bob_client.get(f"/meetings/{held.pk}/review/").content.decode()
    assert "Too few answers to show" in page
    assert "Secret remark" not in page


def test_it_computes_means_distribution_and_comments_at_the_floor(held: Meeting) -> None:
    _answers(held, (5, 4, 3), (3, 4, 3))
    _answers(held, (4, 1, 3), comment="Good chairing")
    results = review.review_results(held)
    assert results["shown"] is True
    assert results["count"] == 3
    added, voices, time = results["questions"]
    assert added["mean"] == 4.0
    assert added["score"] == 75.0
    assert voices["mean"] == 3.0
    assert voices["score"] == 50.0
    assert time["score"] == 50.0
    assert [d["count"] for d in voices["distribution"]] == [1, 0, 0, 2, 0]
    assert [d["percent"] for d in voices["distribution"]] == [33, 0, 0, 67, 0]
    # (4 + 3 + 3) / 3 on 1–5 is 3.33; on 0–100 that is 58.3.
    assert results["overall"] == {"mean": 3.33, "score": 58.3}
    assert results["comments"] == ["Good chairing"]


def test_it_shows_the_results_page_with_comments_and_no_names(
    bob_client: Client, held: Meeting
) -> None:
    _answers(held, (5, 5, 5), (4, 4, 4), (3, 3, 3), comment="Clear papers")
    page = bob_client.get(f"/meetings/{held.pk}/review/").content.decode()
    assert "3 people have answered" in page
    assert "Clear papers" in page
    assert "Average score for each question" in page
    assert "5 – A great deal: it moved things forward" in page


def _section(meeting: Meeting, user: User, *, can_manage: bool) -> str:
    """The review section of the meeting page, drawn as view_meeting draws it."""
    context = {
        "meeting": meeting,
        "partnership": meeting.partnership,
        "can_manage": can_manage,
        "review": review.meeting_section(meeting, user),
    }
    return render_to_string("meetings/sections/review.html", context)


def test_it_shows_the_link_and_qr_code_to_members_on_the_meeting_page(
    bob: User, open_review: Meeting
) -> None:
    page = _section(open_review, bob, can_manage=False)
    assert review.review_link(open_review) in page
    assert '<svg role="img" aria-hidden="true"' in page
    assert f"/meetings/{open_review.pk}/review/print/" in page


def test_it_shows_open_and_close_buttons_only_to_managers(
    alice_client: Client, bob_client: Client, mgmt_chair_client: Client, held: Meeting
) -> None:
    def page(client: Client) -> str:
        response = client.get(held.get_absolute_url())
        assert response.status_code == 200
        return response.content.decode()

    Meeting.objects.filter(pk=held.pk).update(review_open=False)
    assert "Open the review" in page(alice_client)
    assert "Open the review" in page(mgmt_chair_client)
    assert "Open the review" not in page(bob_client)
    Meeting.objects.filter(pk=held.pk).update(review_open=True)
    for manager in (alice_client, mgmt_chair_client):
        text = page(manager)
        assert "Close the review" in text and "Open the review" not in text
    assert "Close the review" not in page(bob_client)


def test_it_shows_the_review_section_on_the_meeting_page(
    bob_client: Client, open_review: Meeting
) -> None:
    page = bob_client.get(f"/meetings/{open_review.pk}/").content.decode()
    assert 'id="review-heading"' in page
    assert review.review_link(open_review) in page


def test_it_prints_the_review_link_as_a_qr_code(bob_client: Client, open_review: Meeting) -> None:
    page = bob_client.get(f"/meetings/{open_review.pk}/review/print/").content.decode()
    assert review.review_link(open_review) in page
    assert "<svg" in page
    assert "not open yet" not in page


def test_it_costs_one_query_for_the_meeting_section(
    bob: User, held: Meeting, django_assert_num_queries
) -> None:
    _answers(held, (5, 5, 5), (4, 4, 4), (3, 3, 3))
    with django_assert_num_queries(1):
        section = review.meeting_section(held, bob)
    assert section["results"]["count"] == 3


# Trend ---------------------------------------------------------------------------------


def _reviewed_meetings(partnership: Partnership, by: User, count: int) -> list[Meeting]:
    meetings = []
    for n in range(count):
        m = make_meeting(
            partnership, by, days=-10 * (n + 1), status=MeetingStatus.HELD, title=f"Forum {n}"
        )
        _answers(m, (4, 4, 4), (5, 5, 5), (3, 3, 3))
        meetings.append(m)
    return meetings


def test_it_builds_the_trend_with_too_few_answers_shown_as_such(
    partnership_a: Partnership, alice: User, held: Meeting
) -> None:
    [older] = _reviewed_meetings(partnership_a, alice, 1)
    _answers(held, (1, 1, 1), (1, 1, 1))
    make_meeting(partnership_a, alice, days=-50, status=MeetingStatus.HELD)  # never reviewed
    rows = review.review_trend(partnership_a)
    assert [r["meeting_id"] for r in rows] == [older.pk, held.pk]
    assert rows[0]["shown"] is True
    assert rows[0]["overall"] == {"mean": 4.0, "score": 75.0}
    assert rows[1]["shown"] is False
    assert rows[1]["count"] is None
    assert rows[1]["overall"]["score"] is None


def test_it_draws_the_trend_as_an_accessible_chart_with_its_table(
    bob_client: Client, partnership_a: Partnership, alice: User, held: Meeting
) -> None:
    _reviewed_meetings(partnership_a, alice, 2)
    _answers(held, (2, 2, 2))
    page = bob_client.get(f"/partnerships/{partnership_a.pk}/meeting-reviews/").content.decode()
    assert 'role="img"' in page
    assert "<title id=" in page
    assert "<desc id=" in page
    assert "1 meeting is hidden, with fewer than 3 answers." in page
    assert "<caption" in page
    # Once in the chart, once in the table.
    assert page.count("Hidden — fewer than 3 answers") == 2
    assert "4.0 (75)" in page


def test_it_costs_the_same_queries_for_2_and_12_meetings(
    bob_client: Client, partnership_a: Partnership, alice: User
) -> None:
    _reviewed_meetings(partnership_a, alice, 2)
    url = f"/partnerships/{partnership_a.pk}/meeting-reviews/"
    bob_client.get(url)  # the session and anything cached settle first
    with CaptureQueriesContext(connection) as few:
        assert bob_client.get(url).status_code == 200
    _reviewed_meetings(partnership_a, alice, 10)
    with CaptureQueriesContext(connection) as many:
        page = bob_client.get(url)
    assert page.content.decode().count("Forum ") >= 12
    assert len(many) == len(few)


def test_it_lists_a_closed_review_with_no_answers_as_one_with_two(
    bob_client: Client, partnership_a: Partnership, alice: User, bob: User
) -> None:
    reviewed: list[int] = []
    for answers in (0, 2):
        meeting = make_meeting(
            partnership_a, alice, days=-answers - 1, status=MeetingStatus.HELD, title="Forum"
        )
        _present(meeting, bob)
        review.review_open(meeting=meeting, by=alice)
        _answers(meeting, *[(4, 4, 4)] * answers)
        review.review_close(meeting=meeting, by=alice)
        reviewed.append(meeting.pk)
    rows = review.review_trend(partnership_a)
    assert sorted(r["meeting_id"] for r in rows) == sorted(reviewed)
    # Apart from which meeting it is, nothing in a row says whether anyone answered.
    same = [{k: v for k, v in r.items() if k not in ("meeting_id", "date")} for r in rows]
    assert same[0] == same[1]
    assert (same[0]["shown"], same[0]["count"], same[0]["open"]) == (False, None, False)
    page = bob_client.get(f"/partnerships/{partnership_a.pk}/meeting-reviews/").content.decode()
    assert page.count("Hidden — fewer than 3 answers") == 4  # two rows, chart and table
    assert "2 meetings are hidden, with fewer than 3 answers." in page


# Results wait for the review to close ----------------------------------------------------


def test_it_shows_no_results_while_the_review_is_open(
    bob_client: Client, bob: User, open_review: Meeting
) -> None:
    _answers(open_review, (5, 5, 5), (4, 4, 4), (3, 3, 3), comment="Clear papers")
    results = review.review_results(open_review)
    assert results["shown"] is False
    assert (results["count"], results["questions"], results["comments"]) == (None, [], [])
    page = bob_client.get(f"/meetings/{open_review.pk}/review/").content.decode()
    assert "Results appear when the review closes" in page
    assert "Clear papers" not in page
    assert "3 people have answered" not in page
    section = _section(open_review, bob, can_manage=False)
    assert "Results appear when the review closes" in section
    assert "people have answered" not in section


def test_it_shows_the_results_once_the_review_closes(
    bob_client: Client, alice: User, open_review: Meeting
) -> None:
    _answers(open_review, (5, 5, 5), (4, 4, 4), (3, 3, 3), comment="Clear papers")
    review.review_close(meeting=open_review, by=alice)
    page = bob_client.get(f"/meetings/{open_review.pk}/review/").content.decode()
    assert "3 people have answered" in page
    assert "Clear papers" in page
    assert "Results appear when the review closes" not in page


def test_it_leaves_an_open_review_out_of_the_trend_figures(
    bob_client: Client, partnership_a: Partnership, alice: User, open_review: Meeting
) -> None:
    [older] = _reviewed_meetings(partnership_a, alice, 1)
    _answers(open_review, (1, 1, 1), (1, 1, 1), (1, 1, 1))
    rows = review.review_trend(partnership_a)
    assert [r["meeting_id"] for r in rows] == [older.pk, open_review.pk]
    assert rows[0]["shown"] is True
    assert (rows[1]["shown"], rows[1]["count"], rows[1]["overall"]["score"]) == (False, None, None)
    page = bob_client.get(f"/partnerships/{partnership_a.pk}/meeting-reviews/").content.decode()
    assert "1 review is still open; results appear when the review closes." in page
    assert "Results when the review closes" in page  # the chart
    assert "Results appear when the review closes</td>" in page  # the table
    assert "1.0 (0)" not in page


def test_it_slows_down_an_address_that_guesses_review_links(open_review: Meeting) -> None:
    from partnerwell.core import guessing

    guesser = Client(REMOTE_ADDR="203.0.113.30")
    neighbour = Client(REMOTE_ADDR="203.0.113.31")
    for number in range(guessing.TOKEN_FAILURES_ALLOWED):
        assert guesser.get(f"/meeting-review/{number:04d}{'x' * 39}/").status_code == 404
    blocked = guesser.get(f"/meeting-review/{'y' * 43}/")
    assert blocked.status_code == 429
    assert "Too many wrong links have come from your connection" in blocked.content.decode()
    # The right link still works from the waiting address (a shared connection, say).
    assert guesser.get(_link(open_review)).status_code == 200
    # Another address still reaches the review, and right links never count as guesses.
    for _ in range(guessing.TOKEN_FAILURES_ALLOWED + 2):
        assert neighbour.get(_link(open_review)).status_code == 200


# Personal links for everyone recorded present ------------------------------------------


def _personal_links(meeting: Meeting, alice: User, *people: User) -> dict[int, str]:
    """Open the review (shared link off) with these people present: person id -> their link."""
    _present(meeting, *people)
    review.review_open(meeting=meeting, by=alice)
    meeting.refresh_from_db()
    return {
        i.membership.person_id: f"/meeting-review/{i.token}/"
        for i in ReviewInvitation.objects.filter(meeting=meeting).select_related("membership")
    }


def test_it_emails_a_personal_link_to_everyone_present_through_the_worker(
    alice: User, bob: User, dave: User, held: Meeting, django_capture_on_commit_callbacks: Any
) -> None:
    _present(held, bob)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        review.review_open(meeting=held, by=alice)
    # Nothing is sent in the request; the worker sends the emails after the commit.
    assert len(mail.outbox) == 0
    for callback in queued:
        callback()
    [email] = mail.outbox
    assert email.to == [bob.email]
    [invitation] = ReviewInvitation.objects.filter(meeting=held)
    assert f"/meeting-review/{invitation.token}/" in email.body
    # The database keeps only the link's hash, never the link.
    assert invitation.token not in {invitation.token_hash, invitation.nonce}
    assert invitation.sent is True


def test_it_takes_one_answer_through_a_personal_link_and_then_says_it_was_used(
    alice: User, bob: User, held: Meeting
) -> None:
    link = _personal_links(held, alice, bob)[bob.pk]
    assert "Send my answers" in Client().get(link).content.decode()

    first = Client().post(link, ANSWER)
    assert first.status_code == 200
    assert "Your answers are in" in first.content.decode()
    again = Client().get(link)
    assert again.status_code == 410
    assert "This link has been used" in html.unescape(again.content.decode())
    assert HeldReview.objects.filter(meeting=held).count() == 1
    invitation = ReviewInvitation.objects.get(meeting=held)
    assert invitation.answered is True


def test_it_counts_ten_answers_from_one_browser_through_personal_links_once(
    alice: User, bob: User, held: Meeting
) -> None:
    link = _personal_links(held, alice, bob)[bob.pk]
    browser = Client()
    statuses = [browser.post(link, ANSWER).status_code for _ in range(10)]
    # The shared link is off by default, so the same browser cannot answer there either.
    shared = [browser.post(_link(held), ANSWER).status_code for _ in range(10)]

    assert statuses == [200] + [410] * 9
    assert shared == [410] * 10
    review.review_close(meeting=held, by=alice)
    assert MeetingReview.objects.filter(meeting=held).count() == 1


def test_it_keeps_the_shared_link_off_unless_the_chair_turns_it_on(
    alice_client: Client, bob: User, held: Meeting
) -> None:
    _present(held, bob)
    alice_client.post(f"/meetings/{held.pk}/review/open/")
    held.refresh_from_db()
    page = Client().get(_link(held))
    assert page.status_code == 410
    assert "only through the personal links" in html.unescape(page.content.decode())
    with pytest.raises(ValidationError, match="personal links"):
        review.review_submit(meeting=held, added_value=4, voices_heard=4, time_well_spent=4)
    assert not HeldReview.objects.exists()


def test_it_warns_plainly_before_the_chair_turns_the_shared_link_on(
    alice_client: Client, held: Meeting
) -> None:
    section = html.unescape(alice_client.get(held.get_absolute_url()).content.decode())
    assert 'name="shared"' in section
    assert "cannot be limited to one per person" in section
    # Nobody recorded present and no shared link: nothing to open.
    alice_client.post(f"/meetings/{held.pk}/review/open/")
    held.refresh_from_db()
    assert held.review_open is False
    alice_client.post(f"/meetings/{held.pk}/review/open/", {"shared": "on"})
    held.refresh_from_db()
    assert (held.review_open, held.review_shared_link) == (True, True)
    assert Client().post(_link(held), ANSWER).status_code == 302
    assert HeldReview.objects.filter(meeting=held).count() == 1


def test_it_hides_personal_answers_until_the_review_closes(
    bob_client: Client, alice: User, bob: User, dave: User, held: Meeting
) -> None:
    links = _personal_links(held, alice, alice, bob, dave)
    for person, link in links.items():
        Client().post(link, {**ANSWER, "comment": f"From {person}"})
    results = review.review_results(held)
    assert (results["shown"], results["count"], results["comments"]) == (False, None, [])
    page = bob_client.get(f"/meetings/{held.pk}/review/").content.decode()
    assert "From " not in page
    assert "Results appear when the review closes" in page

    review.review_close(meeting=held, by=alice)
    held.refresh_from_db()
    results = review.review_results(held)
    assert (results["shown"], results["count"]) == (True, 3)


@pytest.mark.django_db(transaction=True)
def test_it_seals_the_answers_in_an_order_that_says_nothing_about_who(
    partnership_a: Partnership, alice: User, council: Any
) -> None:
    from tests.healthcheck.builders import add_member

    meeting = make_meeting(partnership_a, alice, days=-1, status=MeetingStatus.HELD)
    people = [add_member(partnership_a, council).person for _ in range(10)]
    links = _personal_links(meeting, alice, *people)
    # Each person answers in turn, in a transaction of their own; the comment says who.
    for number, person in enumerate(people):
        Client().post(links[person.pk], {**ANSWER, "comment": f"Person {number}"})
    review.review_close(meeting=meeting, by=alice)

    table = MeetingReview._meta.db_table
    place = "ctid" if connection.vendor == "postgresql" else "rowid"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT comment FROM {table} WHERE meeting_id = %s ORDER BY {place}",  # noqa: S608
            [meeting.pk],
        )
        stored = [c for (c,) in cursor.fetchall()]
    answered = [f"Person {n}" for n in range(10)]
    assert sorted(stored) == sorted(answered)
    # A random order of ten matches the answering order once in 3.6 million.
    assert stored != answered
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT DISTINCT xmin::text FROM {table} WHERE meeting_id = %s",  # noqa: S608
                [meeting.pk],
            )
            review_xmins = {x for (x,) in cursor.fetchall()}
            cursor.execute(
                f"SELECT xmin::text FROM {ReviewInvitation._meta.db_table} "  # noqa: S608
                "WHERE meeting_id = %s",
                [meeting.pk],
            )
            invitation_xmins = {x for (x,) in cursor.fetchall()}
        # One sealing transaction wrote every answer; it touched no personal link.
        assert len(review_xmins) == 1
        assert not review_xmins & invitation_xmins
