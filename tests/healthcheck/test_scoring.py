"""Tests for partnerwell.healthcheck.scoring, on examples worked out by hand.

Every expected number is derived in the comment above its assertion, so a
reader can check the arithmetic without running anything.
"""

from __future__ import annotations

import math
import random

import pytest

from partnerwell.healthcheck.scoring import (
    SCALES,
    GroupStats,
    StatementAgg,
    band,
    change_test,
    combine,
    compare_rounds,
    group_gaps,
    holm,
    normalise,
    principle_result,
    regularised_incomplete_beta,
    statement_result,
    student_t_cdf,
    student_t_two_sided_p,
    suppress_groups,
)


def agg(scale: str, answers: list[int | None], reverse: bool = False) -> StatementAgg:
    """What the database would return for these raw answers."""
    return StatementAgg.from_values(normalise(scale, a, reverse) for a in answers)


# --------------------------------------------------------------------------
# Normalisation
# --------------------------------------------------------------------------


def test_it_normalises_agreement_answers_to_0_100() -> None:
    # (v - 1) x 25: 1 -> 0, 2 -> 25, 3 -> 50, 4 -> 75, 5 -> 100.
    assert [normalise("agreement", v) for v in (1, 2, 3, 4, 5)] == [0, 25, 50, 75, 100]


def test_it_reverses_agreement_answers_for_warning_signs() -> None:
    # Agreeing (4) with a warning sign is bad news: 100 - 75 = 25.
    assert normalise("agreement", 4, reverse=True) == 25
    # Strongly disagreeing (1) with a warning sign is the healthiest answer: 100 - 0.
    assert normalise("agreement", 1, True) == 100


def test_it_normalises_maturity_levels_like_agreement() -> None:
    # Level 3 of 5 -> (3 - 1) x 25 = 50; reversed -> 50; level 5 reversed -> 0.
    assert normalise("maturity", 3) == 50
    assert normalise("maturity", 3, True) == 50
    assert normalise("maturity", 5, True) == 0
    assert normalise("maturity", 2) == 25


def test_it_normalises_zero_to_ten_answers() -> None:
    # v x 10: 0 -> 0, 7 -> 70, 10 -> 100; reversed 7 -> 100 - 70 = 30.
    assert normalise("zero_ten", 0) == 0
    assert normalise("zero_ten", 7) == 70
    assert normalise("zero_ten", 10) == 100
    assert normalise("zero_ten", 7, True) == 30


def test_it_normalises_yes_no_answers_stored_as_0_1_2() -> None:
    # Stored as no = 0, not sure = 1, yes = 2; v x 50.
    assert normalise("yes_no", 2) == 100
    assert normalise("yes_no", 1) == 50
    assert normalise("yes_no", 0) == 0
    # Reversed: yes -> 0, not sure stays 50.
    assert normalise("yes_no", 2, True) == 0
    assert normalise("yes_no", 1, True) == 50
    assert SCALES["yes_no"].labels == {0: "No", 1: "Not sure", 2: "Yes"}


@pytest.mark.parametrize("scale", ["agreement", "yes_no", "zero_ten", "maturity"])
def test_it_keeps_dont_know_as_none_on_every_scale(scale: str) -> None:
    assert normalise(scale, None) is None
    assert normalise(scale, None, True) is None


@pytest.mark.parametrize(
    ("scale", "raw"),
    [
        ("agreement", 0),
        ("agreement", 6),
        ("maturity", 0),
        ("zero_ten", 11),
        ("zero_ten", -1),
        ("yes_no", 3),
        ("agreement", True),
        ("yes_no", "yes"),
        ("agreement", 2.5),
    ],
)
def test_it_rejects_answers_that_are_not_on_the_scale(scale: str, raw: object) -> None:
    with pytest.raises(ValueError, match="is not an answer on the"):
        normalise(scale, raw, False)  # type: ignore[arg-type]


def test_it_rejects_an_unknown_scale() -> None:
    with pytest.raises(ValueError, match="'likert' is not a scale"):
        normalise("likert", 3)


def test_it_knows_the_random_answer_variance_of_each_scale() -> None:
    # Uniform over A evenly spaced points from 0 to 100:
    # (A^2 - 1)/12 steps^2, one step = 100/(A - 1).
    # five points: 24/12 x 25^2 = 2 x 625 = 1250
    assert SCALES["agreement"].expected_variance == pytest.approx(1250)
    assert SCALES["maturity"].expected_variance == pytest.approx(1250)
    # eleven points: 120/12 x 10^2 = 1000
    assert SCALES["zero_ten"].expected_variance == pytest.approx(1000)
    # three points: 8/12 x 50^2 = 1666.67
    assert SCALES["yes_no"].expected_variance == pytest.approx(5000 / 3)


# --------------------------------------------------------------------------
# Bands and combining
# --------------------------------------------------------------------------


def test_it_bands_scores_at_75_and_50() -> None:
    assert band(100) == "strength"
    assert band(75) == "strength"
    assert band(74.9) == "developing"
    assert band(50) == "developing"
    assert band(49.99) == "concern"
    assert band(0) == "concern"
    assert band(None) is None


def test_it_ignores_floating_point_error_at_a_band_edge() -> None:
    # A mean that is 75 on paper but 74.999999999999 in binary is still a strength.
    assert band(75 - 1e-12) == "strength"
    assert band(50 - 1e-12) == "developing"


def test_it_combines_only_the_scores_that_exist() -> None:
    # (75 + 50) / 2 = 62.5; the None is left out, not counted as zero.
    assert combine([75, None, 50]) == 62.5
    assert combine([]) is None
    assert combine([None, None]) is None


# --------------------------------------------------------------------------
# Statements
# --------------------------------------------------------------------------


def test_it_leaves_dont_know_out_of_a_statement_score() -> None:
    # Answers 5, 4, don't know, don't know -> 100 and 75 count, two don't knows.
    # mean = 87.5; s^2 = ((12.5)^2 + (12.5)^2) / (2 - 1) = 312.5; spread = 17.678
    result = statement_result(agg("agreement", [5, 4, None, None]), "agreement")
    assert result.score == 87.5
    assert result.n == 2
    assert result.dont_know == 2
    assert result.spread == pytest.approx(math.sqrt(312.5))
    # Two answers are never called disputed.
    assert result.disputed is False


def test_it_flags_a_split_statement_as_disputed() -> None:
    # Answers 5, 5, 5, 1, 1 -> 100, 100, 100, 0, 0. mean = 300 / 5 = 60.
    # deviations 40, 40, 40, -60, -60 -> squares 1600 x 3 + 3600 x 2 = 12000
    # s^2 = 12000 / 4 = 3000; spread = 54.77
    # r_wg = 1 - 3000 / 1250 = -1.4 -> shown as 0; n = 5 >= 3 and r_wg < 0.5: disputed.
    result = statement_result(agg("agreement", [5, 5, 5, 1, 1]), "agreement")
    assert result.score == 60
    assert result.variance == pytest.approx(3000)
    assert result.spread == pytest.approx(54.772, abs=1e-3)
    assert result.agreement == 0
    assert result.disputed is True
    assert result.band == "developing"


def test_it_does_not_flag_a_consensus_statement() -> None:
    # Answers 4, 4, 5, 3, 4 -> 75, 75, 100, 50, 75. mean = 375 / 5 = 75.
    # deviations 0, 0, 25, -25, 0 -> s^2 = 1250 / 4 = 312.5; spread = 17.68
    # r_wg = 1 - 312.5 / 1250 = 0.75: not disputed.
    result = statement_result(agg("agreement", [4, 4, 5, 3, 4]), "agreement")
    assert result.score == 75
    assert result.spread == pytest.approx(17.678, abs=1e-3)
    assert result.agreement == pytest.approx(0.75)
    assert result.disputed is False
    assert result.band == "strength"


def test_it_builds_the_same_result_from_sql_style_sums() -> None:
    # COUNT = 5, SUM = 75 + 75 + 100 + 50 + 75 = 375,
    # SUM(x*x) = 5625 x 3 + 10000 + 2500 = 29375.
    # s^2 = (29375 - 375^2 / 5) / 4 = (29375 - 28125) / 4 = 312.5
    from_sql = statement_result(StatementAgg(n=5, total=375, total_sq=29375), "agreement")
    assert from_sql == statement_result(agg("agreement", [4, 4, 5, 3, 4]), "agreement")
    assert from_sql.variance == 312.5


def test_it_measures_agreement_against_the_yes_no_scale() -> None:
    # yes, yes, no -> 100, 100, 0: mean 66.67;
    # s^2 = (20000 - 200^2 / 3) / 2 = (20000 - 13333.33) / 2 = 3333.33
    # r_wg = 1 - 3333.33 / 1666.67 = -1 -> 0, and n = 3: disputed.
    split = statement_result(agg("yes_no", [2, 2, 0]), "yes_no")
    assert split.score == pytest.approx(200 / 3)
    assert split.agreement == 0
    assert split.disputed is True
    # yes, yes, yes, not sure -> 100, 100, 100, 50: mean 87.5;
    # s^2 = (32500 - 350^2 / 4) / 3 = (32500 - 30625) / 3 = 625
    # r_wg = 1 - 625 / 1666.67 = 0.625: not disputed.
    mostly = statement_result(agg("yes_no", [2, 2, 2, 1]), "yes_no")
    assert mostly.score == 87.5
    assert mostly.agreement == pytest.approx(0.625)
    assert mostly.disputed is False


def test_it_gives_full_agreement_when_everyone_answers_alike() -> None:
    # 3, 3, 3 -> 50, 50, 50: s^2 = 0, r_wg = 1.
    result = statement_result(agg("agreement", [3, 3, 3]), "agreement")
    assert (result.score, result.spread, result.agreement, result.disputed) == (50, 0, 1, False)


def test_it_gives_no_spread_for_a_single_answer() -> None:
    result = statement_result(agg("zero_ten", [7]), "zero_ten")
    assert result.score == 70
    assert result.spread is None
    assert result.agreement is None
    assert result.disputed is False


# --------------------------------------------------------------------------
# Principles, areas and the overall score
# --------------------------------------------------------------------------


def test_it_combines_statements_on_different_scales_in_one_principle() -> None:
    # agreement 4, 4, 5, 3, 4: score 75, s^2 312.5, r_wg = 1 - 312.5/1250 = 0.75
    a = statement_result(agg("agreement", [4, 4, 5, 3, 4]), "agreement")
    # zero_ten 7, 9, 8 -> 70, 90, 80: score 80, s^2 = (100 + 100 + 0) / 2 = 100,
    # r_wg = 1 - 100/1000 = 0.9
    z = statement_result(agg("zero_ten", [7, 9, 8]), "zero_ten")
    # yes_no yes, yes, not sure, yes -> 100, 100, 50, 100: score 87.5, s^2 625,
    # r_wg = 1 - 625/1666.67 = 0.625
    y = statement_result(agg("yes_no", [2, 2, 1, 2]), "yes_no")
    result = principle_result([a, z, y])
    # score = (75 + 80 + 87.5) / 3 = 80.833
    assert result.score == pytest.approx(80.8333, abs=1e-4)
    # agreement = mean r_wg, each against its own scale = (0.75 + 0.9 + 0.625) / 3 = 0.7583
    assert result.agreement == pytest.approx(0.758333, abs=1e-6)
    # spread = sqrt((312.5 + 100 + 625) / 3) = sqrt(345.83) = 18.597
    assert result.spread == pytest.approx(18.5966, abs=1e-4)
    assert result.n == 5
    assert result.disputed is False
    assert result.band == "strength"


def test_it_reverses_warning_signs_before_combining_them() -> None:
    # Sign of health, answers 4, 4, 4 -> 75 each: score 75.
    health = statement_result(agg("agreement", [4, 4, 4]), "agreement")
    # Warning sign, answers 2, 2, 2 (people disagree with the bad news)
    # -> 100 - 25 = 75 each: score 75.
    warning = statement_result(agg("agreement", [2, 2, 2], reverse=True), "agreement")
    assert principle_result([health, warning]).score == 75


def test_it_flags_a_principle_whose_statements_split_members() -> None:
    # Both statements 5, 5, 5, 1, 1: r_wg = -1.4 each, mean -1.4 < 0.5: disputed.
    split = statement_result(agg("agreement", [5, 5, 5, 1, 1]), "agreement")
    # A third, agreed statement 4, 4, 5, 3, 4 has r_wg 0.75:
    # mean r_wg = (-1.4 - 1.4 + 0.75) / 3 = -0.683, still disputed.
    agreed = statement_result(agg("agreement", [4, 4, 5, 3, 4]), "agreement")
    result = principle_result([split, split, agreed])
    assert result.disputed is True
    assert result.agreement == 0


def test_it_scores_an_empty_principle_as_none() -> None:
    result = principle_result([])
    assert (result.score, result.spread, result.agreement, result.disputed) == (
        None,
        None,
        None,
        False,
    )
    assert result.band is None


def test_it_ignores_unanswered_statements_in_a_principle() -> None:
    # One statement only drew "don't know"; the other scored 3, 4 -> 50, 75 = 62.5.
    unanswered = statement_result(agg("agreement", [None, None]), "agreement")
    answered = statement_result(agg("agreement", [3, 4]), "agreement")
    assert unanswered.score is None
    assert principle_result([unanswered, answered]).score == 62.5


def test_it_scores_a_round_with_no_responses_as_none_throughout() -> None:
    empty = StatementAgg(n=0, total=0, total_sq=0)
    statement = statement_result(empty, "agreement")
    assert statement.score is None
    assert statement.spread is None
    assert statement.agreement is None
    assert statement.disputed is False
    principle = principle_result([statement, statement])
    area = combine([principle.score, principle.score])
    overall = combine([area])
    assert (principle.score, area, overall, band(overall)) == (None, None, None, None)


def test_it_weights_every_principle_and_area_equally() -> None:
    # Area A has principles scoring 80 and 60 -> area 70; area B one principle, 40.
    # Overall = (70 + 40) / 2 = 55, not the mean of the three principles (60).
    area_a = combine([80, 60])
    area_b = combine([40])
    assert area_a == 70
    assert combine([area_a, area_b]) == 55


# --------------------------------------------------------------------------
# Student's t distribution
# --------------------------------------------------------------------------


def closed_form_two_sided_p(t: float, df: int) -> float:
    """P(|T| >= |t|) from the textbook finite series for whole-number df.

    With theta = atan(|t| / sqrt(df)):
    odd df:  P(|T| < t) = (2/pi) (theta + sin cos (1 + 2/3 cos^2 + 2.4/(3.5) cos^4 + ...))
    even df: P(|T| < t) = sin (1 + 1/2 cos^2 + 1.3/(2.4) cos^4 + ...)
    with df // 2 - 1 terms after the leading 1 in the bracket (odd df = 1 has no
    bracket at all).
    """
    theta = math.atan(abs(t) / math.sqrt(df))
    s, c = math.sin(theta), math.cos(theta)
    if df % 2:
        if df == 1:
            return 1 - 2 * theta / math.pi
        term = total = 1.0
        for k in range(1, (df - 3) // 2 + 1):
            term *= (2 * k) / (2 * k + 1) * c * c
            total += term
        return 1 - 2 / math.pi * (theta + s * c * total)
    term = total = 1.0
    for k in range(1, (df - 2) // 2 + 1):
        term *= (2 * k - 1) / (2 * k) * c * c
        total += term
    return 1 - s * total


def test_it_computes_textbook_t_p_values() -> None:
    # t = 2.0 with 10 degrees of freedom: two-sided p = 0.0734 (statistical tables).
    assert student_t_two_sided_p(2.0, 10) == pytest.approx(0.07339, abs=1e-5)
    # The 5% critical value for 10 df is 2.228139.
    assert student_t_two_sided_p(2.228139, 10) == pytest.approx(0.05, abs=1e-6)
    # One df is the Cauchy distribution: P(|T| >= 1) = 1 - (2/pi) atan(1) = 0.5.
    assert student_t_two_sided_p(1.0, 1) == pytest.approx(0.5, abs=1e-12)
    # Two df: P(|T| >= t) = 1 - t / sqrt(2 + t^2); t = 2 -> 1 - 2/sqrt(6) = 0.183503.
    assert student_t_two_sided_p(2.0, 2) == pytest.approx(1 - 2 / math.sqrt(6), abs=1e-12)
    # Very many df is the normal distribution: 1.959964 -> 0.05.
    assert student_t_two_sided_p(1.959964, 1e7) == pytest.approx(0.05, abs=1e-6)
    # No difference at all: p = 1.
    assert student_t_two_sided_p(0.0, 7) == 1.0


@pytest.mark.parametrize("df", range(1, 13))
def test_it_matches_the_closed_form_series_for_whole_number_df(df: int) -> None:
    for t in (0.1, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 40.0):
        assert student_t_two_sided_p(t, df) == pytest.approx(
            closed_form_two_sided_p(t, df), abs=1e-10
        )


def test_it_gives_a_symmetric_t_cdf() -> None:
    # P(T <= -1.5) = 1 - P(T <= 1.5), and the CDF at 0 is one half.
    assert student_t_cdf(-1.5, 4) == pytest.approx(1 - student_t_cdf(1.5, 4), abs=1e-14)
    assert student_t_cdf(0.0, 4) == pytest.approx(0.5)
    # Two df: F(t) = 1/2 + t / (2 sqrt(2 + t^2)); t = 1 -> 0.5 + 1/(2 sqrt 3) = 0.788675.
    assert student_t_cdf(1.0, 2) == pytest.approx(0.5 + 1 / (2 * math.sqrt(3)), abs=1e-12)


def test_it_computes_the_regularised_incomplete_beta_function() -> None:
    # I_x(1, 1) = x; I_x(2, 1) = x^2; I_x(1, 2) = 1 - (1 - x)^2.
    assert regularised_incomplete_beta(1, 1, 0.3) == pytest.approx(0.3, abs=1e-14)
    assert regularised_incomplete_beta(2, 1, 0.3) == pytest.approx(0.09, abs=1e-14)
    assert regularised_incomplete_beta(1, 2, 0.3) == pytest.approx(0.51, abs=1e-14)
    assert regularised_incomplete_beta(3, 5, 0) == 0
    assert regularised_incomplete_beta(3, 5, 1) == 1


# --------------------------------------------------------------------------
# Change between rounds
# --------------------------------------------------------------------------


def test_it_runs_welchs_test_on_a_hand_example() -> None:
    # Round 1 respondent scores 50, 60, 70, 80: mean 65, s^2 = (225+25+25+225)/3 = 166.67
    # Round 2 respondent scores 70, 80, 90, 100: mean 85, s^2 = 166.67
    # difference = 20; s^2/n = 41.67 each; se^2 = 83.33; t^2 = 400 / 83.33 = 4.8
    # df = 83.33^2 / (2 x 41.67^2 / 3) = 6944.4 / 1157.4 = 6
    # Closed form for 6 df: sin^2 = 4.8/10.8 = 4/9, cos^2 = 5/9,
    # P(|T| < t) = (2/3)(1 + (1/2)(5/9) + (3/8)(25/81)) = (2/3)(903/648) = 1806/1944
    # p = 138/1944 = 0.070988
    prev = GroupStats.from_values([50, 60, 70, 80])
    curr = GroupStats.from_values([70, 80, 90, 100])
    assert (prev.n, prev.total, prev.total_sq) == (4, 260, 17400)
    result = change_test(prev, curr)
    assert result.difference == 20
    assert result.p_value == pytest.approx(138 / 1944, abs=1e-12)


def test_it_uses_welch_degrees_of_freedom_for_unequal_groups() -> None:
    # Round 1: 40, 50, 60 -> mean 50, s^2 = 100, s^2/n = 33.33
    # Round 2: 60, 70, 80, 90, 100 -> mean 80, s^2 = 250, s^2/n = 50
    # se^2 = 83.33, t = 30 / 9.129 = 3.286
    # df = 83.33^2 / (33.33^2/2 + 50^2/4) = 6944.4 / 1180.6 = 5.88, between 5 and 6,
    # so p lies between the closed-form p-values for 6 df (smaller) and 5 df (larger).
    result = change_test(
        GroupStats.from_values([40, 50, 60]), GroupStats.from_values([60, 70, 80, 90, 100])
    )
    t = 30 / math.sqrt(100 / 3 + 250 / 5)
    assert result.difference == 30
    assert result.p_value is not None
    assert closed_form_two_sided_p(t, 6) < result.p_value < closed_form_two_sided_p(t, 5)


def test_it_cannot_test_change_without_two_respondents_a_round() -> None:
    one = GroupStats.from_values([80])
    four = GroupStats.from_values([50, 60, 70, 80])
    assert change_test(one, four) == change_test(one, four)
    assert change_test(one, four).difference == -15
    assert change_test(one, four).p_value is None
    empty = GroupStats(n=0, total=0, total_sq=0)
    assert change_test(empty, four).difference is None
    assert change_test(empty, four).p_value is None


def test_it_handles_rounds_where_everyone_answered_alike() -> None:
    # No spread in either round: same mean -> p = 1, different mean -> p = 0.
    fifty = GroupStats.from_values([50, 50, 50])
    seventy_five = GroupStats.from_values([75, 75, 75])
    assert change_test(fifty, fifty).p_value == 1.0
    assert change_test(fifty, seventy_five).p_value == 0.0


def test_it_applies_holms_step_down_correction() -> None:
    # m = 4. Sorted: 0.005 <= 0.05/4 = 0.0125 yes; 0.01 <= 0.05/3 = 0.0167 yes;
    # 0.03 <= 0.05/2 = 0.025 no -> stop, so 0.03 and 0.04 are not flagged.
    assert holm([0.01, 0.04, 0.03, 0.005]) == [True, False, False, True]
    # m = 3 (None is not a test). 0.001 <= 0.0167 yes; 0.02 <= 0.025 yes; 0.024 <= 0.05 yes.
    # Plain Bonferroni (0.05/3 each) would flag only the first.
    assert holm([0.001, 0.02, 0.024, None]) == [True, True, True, False]
    # Stops at the first failure: 0.03 > 0.05/2, so 0.04 is not flagged either,
    # although on its own it would be below its bound of 0.05/1.
    assert holm([0.03, 0.04]) == [False, False]
    assert holm([]) == []


def test_it_rejects_a_meaningless_alpha() -> None:
    with pytest.raises(ValueError):
        holm([0.01], alpha=0)


def test_it_compares_every_principle_of_two_rounds() -> None:
    prev = {"p1": GroupStats.from_values([50, 60, 70, 80]), "p2": GroupStats.from_values([50])}
    curr = {"p1": GroupStats.from_values([70, 80, 90, 100]), "p2": GroupStats.from_values([60])}
    result = compare_rounds(prev, curr)
    # p1: p = 0.071 (above) is not beyond noise; p2 cannot be tested.
    assert result["p1"].difference == 20
    assert result["p1"].beyond_noise is False
    assert result["p2"].p_value is None
    assert result["p2"].beyond_noise is False


def _simulate_round(
    rng: random.Random, principles: int, respondents: int, shift_principle: int | None
) -> list[bool]:
    """Two rounds of a health check; returns which principles Holm flags.

    Each respondent has a personal leaning (some rate everything higher) and
    answers three agreement statements per principle with noise; answers are
    rounded to the scale and clipped to 1-5. The respondent's principle score
    is the mean of their three normalised answers. In the second round the
    shifted principle's latent level rises by one scale step, i.e. 25 points.
    """
    prev: dict[str, GroupStats] = {}
    curr: dict[str, GroupStats] = {}
    for round_stats, shifted in ((prev, False), (curr, True)):
        scores: dict[int, list[float]] = {p: [] for p in range(principles)}
        for _ in range(respondents):
            leaning = rng.gauss(0, 0.5)
            for p in range(principles):
                level = 2.6 + leaning + (1.0 if shifted and p == shift_principle else 0.0)
                answers = [min(5, max(1, round(level + rng.gauss(0, 0.8)))) for _ in range(3)]
                normalised = [normalise("agreement", a) for a in answers]
                scores[p].append(sum(v for v in normalised if v is not None) / 3)
        for p, values in scores.items():
            round_stats[f"p{p}"] = GroupStats.from_values(values)
    return [change.beyond_noise for change in compare_rounds(prev, curr).values()]


def test_it_rarely_flags_pure_noise_and_finds_a_real_shift() -> None:
    # 300 repetitions of 2 rounds x 14 principles x 20 respondents.
    rng = random.Random(20100316)
    reps = 300
    noise_runs_with_a_flag = sum(
        any(_simulate_round(rng, 14, 20, shift_principle=None)) for _ in range(reps)
    )
    # Holm keeps the chance of any false flag in a round at about 5%.
    assert noise_runs_with_a_flag / reps <= 0.08

    found = 0
    false_flags = 0
    for _ in range(reps):
        flags = _simulate_round(rng, 14, 20, shift_principle=0)
        found += flags[0]
        false_flags += any(flags[1:])
    # A 25-point move is found almost every time, despite correcting for 14 tests,
    # and the unchanged principles are still rarely flagged.
    assert found / reps >= 0.8
    assert false_flags / reps <= 0.08


# --------------------------------------------------------------------------
# Suppression and gaps
# --------------------------------------------------------------------------


def assert_no_small_group_can_be_recovered(counts: dict[str, int], floor: int) -> set[str]:
    """Check the promises of suppress_groups and return its answer.

    While any group is shown, the total is shown too, so "total minus shown
    groups" is the combined count of the hidden groups: it must be zero or at
    least the floor, and never one hidden group on its own. (When every group
    is hidden there is nothing to subtract.)
    """
    hidden = suppress_groups(counts, floor)
    shown = set(counts) - hidden
    assert all(counts[g] >= floor for g in shown)
    assert all(g in hidden for g, n in counts.items() if n < floor)
    if shown:
        remainder = sum(counts.values()) - sum(counts[g] for g in shown)
        hidden_with_people = [g for g in hidden if counts[g] > 0]
        assert remainder == 0 or remainder >= floor
        assert len(hidden_with_people) != 1
    return hidden


def test_it_hides_a_small_group_and_one_more_so_it_cannot_be_subtracted() -> None:
    # Staff side has 2 answers (< 3). If only staff were hidden, total (17) minus
    # management (10) minus independent (5) would give staff's 2 back. The next
    # smallest shown group (independent, 5) is hidden too: 17 - 10 = 7 mixes both.
    counts = {"management": 10, "staff": 2, "independent": 5}
    assert assert_no_small_group_can_be_recovered(counts, 3) == {"staff", "independent"}


def test_it_hides_more_when_two_small_groups_add_up_below_the_floor() -> None:
    # a = 1 and b = 1 together make 2 < 3: the remainder would itself be a tiny
    # group, so the smallest shown group (d, 6) joins them: remainder 8.
    counts = {"a": 1, "b": 1, "c": 8, "d": 6}
    assert assert_no_small_group_can_be_recovered(counts, 3) == {"a", "b", "d"}


def test_it_hides_only_the_small_groups_when_together_they_reach_the_floor() -> None:
    # a = 2 and b = 2 make 4 >= 3, and there are two of them: 14 - 10 = 4 says
    # nothing about a or b alone.
    counts = {"a": 2, "b": 2, "c": 10}
    assert assert_no_small_group_can_be_recovered(counts, 3) == {"a", "b"}


def test_it_respects_a_higher_floor() -> None:
    # Floor 5: a (4) is hidden; alone it could be recovered, so b (6) joins it.
    counts = {"a": 4, "b": 6, "c": 7, "d": 20}
    assert assert_no_small_group_can_be_recovered(counts, 5) == {"a", "b"}


def test_it_hides_every_group_when_all_are_small() -> None:
    assert assert_no_small_group_can_be_recovered({"a": 1, "b": 2}, 3) == {"a", "b"}


def test_it_shows_everything_when_every_group_is_large_enough() -> None:
    assert assert_no_small_group_can_be_recovered({"a": 3, "b": 9}, 3) == set()


def test_it_hides_groups_with_no_answers_without_hiding_more() -> None:
    # Nobody from "voluntary" answered: there is nothing to show or to recover.
    counts = {"voluntary": 0, "council": 10, "health": 12}
    assert assert_no_small_group_can_be_recovered(counts, 3) == {"voluntary"}


def test_it_never_leaks_a_small_group_in_random_configurations() -> None:
    rng = random.Random(3)
    for _ in range(2000):
        floor = rng.choice([3, 3, 4, 5, 10])
        counts = {
            f"g{i}": rng.choice([0, 1, 2, 3, 4, 5, 8, 12, 30]) for i in range(rng.randint(1, 7))
        }
        assert_no_small_group_can_be_recovered(counts, floor)


@pytest.mark.parametrize("floor", [2, 1, 0, -3])
def test_it_refuses_an_anonymity_floor_below_three(floor: int) -> None:
    with pytest.raises(ValueError, match="at least 3"):
        suppress_groups({"a": 10}, floor)


def test_it_refuses_a_floor_that_is_not_a_whole_number() -> None:
    with pytest.raises(ValueError):
        suppress_groups({"a": 10}, 3.5)  # type: ignore[arg-type]


def test_it_refuses_negative_counts() -> None:
    with pytest.raises(ValueError, match="'a'"):
        suppress_groups({"a": -1, "b": 5}, 3)


def spread_around(mean: float, n: int) -> GroupStats:
    """n respondents' principle scores: mean - 10 and mean + 10, alternately (n even)."""
    return GroupStats.from_values(mean + (10 if i % 2 else -10) for i in range(n))


def test_it_lists_gaps_of_20_points_or_more_between_groups() -> None:
    stats = {
        "side": {
            "management": {"vision": spread_around(80, 8), "agenda": spread_around(60, 8)},
            "staff": {"vision": spread_around(55, 8), "agenda": spread_around(70, 8)},
            "independent": {"vision": spread_around(75, 8)},
        }
    }
    # vision: management - staff = 25 (a gap), independent - staff = 20 (a gap, >= 20),
    #         management - independent = 5 (too small); agenda: 70 - 60 = 10 (too small).
    # Each side's scores spread 10.7 points (sd) over 8 people: 20 points apart is t = 3.7.
    gaps = group_gaps(stats)
    assert [(g.principle, g.group_a, g.group_b, g.difference) for g in gaps] == [
        ("vision", "management", "staff", 25),
        ("vision", "independent", "staff", 20),
    ]
    assert all(g.by == "side" and g.p_value is not None and g.p_value < 0.01 for g in gaps)
    # A higher threshold keeps only the larger gap.
    assert [(g.group_a, g.group_b) for g in group_gaps(stats, threshold=21)] == [
        ("management", "staff")
    ]


def test_it_puts_the_higher_scoring_group_first_in_a_gap() -> None:
    gaps = group_gaps(
        {"": {"staff": {"p": spread_around(30, 6)}, "mgmt": {"p": spread_around(90, 6)}}}
    )
    assert [(g.group_a, g.group_b, g.difference) for g in gaps] == [("mgmt", "staff", 60)]


def test_it_reports_the_shown_scores_difference_and_tests_the_respondents() -> None:
    stats = {"": {"a": {"p": spread_around(80, 8)}, "b": {"p": spread_around(50, 8)}}}
    # The page shows 81 and 52 (means of statement means, don't-knows aside): that is the gap.
    shown: dict[str, dict[str, dict[str, float | None]]] = {"": {"a": {"p": 81}, "b": {"p": 52}}}
    assert [g.difference for g in group_gaps(stats, shown)] == [29]


def test_it_finds_gaps_only_between_groups_that_survive_suppression() -> None:
    counts = {"management": 10, "staff": 2, "independent": 5, "unions": 6}
    stats = {
        "management": {"p": spread_around(90, 10)},
        "staff": {"p": spread_around(10, 2)},
        "independent": {"p": spread_around(50, 4)},
        "unions": {"p": spread_around(40, 6)},
    }
    hidden = suppress_groups(counts, 3)
    # staff (2) hidden, then the smallest shown group, independent (5).
    assert hidden == {"staff", "independent"}
    gaps = group_gaps({"": {g: s for g, s in stats.items() if g not in hidden}})
    assert [(g.group_a, g.group_b, g.difference) for g in gaps] == [("management", "unions", 50)]
    assert all("staff" not in (g.group_a, g.group_b) for g in gaps)
