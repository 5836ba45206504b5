"""The form people answer the meeting review with (no sign-in needed)."""

from __future__ import annotations

from django import forms

from partnerwell.core.forms import GDSForm
from partnerwell.meetings.review import COMMENT_MAX, QUESTIONS, Question


def _score_field(question: Question) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        label=question.label,
        choices=[(n, f"{n} – {words}") for n, words in enumerate(question.points, start=1)],
        coerce=int,
        widget=forms.RadioSelect,
        help_text="1 is the lowest, 5 the highest.",
        error_messages={"required": f"Answer “{question.label}” with a score from 1 to 5."},
    )


class ReviewForm(GDSForm):
    """Three scores from 1 to 5 and an optional comment."""

    added_value = _score_field(QUESTIONS[0])
    voices_heard = _score_field(QUESTIONS[1])
    time_well_spent = _score_field(QUESTIONS[2])
    comment = forms.CharField(
        label="Anything else about this meeting? (optional)",
        help_text="Do not write your name, or anything that would show who you are.",
        required=False,
        max_length=COMMENT_MAX,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={
            "max_length": f"Keep the comment to {COMMENT_MAX} characters or fewer.",
        },
    )
