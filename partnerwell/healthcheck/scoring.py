"""Scoring rules for health checks: pure functions with no Django and no database.

Everything a health check reports is computed here from small, fixed-size
summaries, so that the database does the counting (``COUNT``, ``SUM(x)`` and
``SUM(x*x)`` work the same on SQLite and PostgreSQL) and no Python loop ever
walks over individual ratings.

The pipeline, from an answer to a headline:

1. :func:`normalise` turns a raw answer on any scale into a value from 0 to
   100 (reverse-scored statements are flipped here, once). "Don't know" is
   ``None`` and never becomes a number.
2. The database sums those values per statement into a :class:`StatementAgg`.
3. :func:`statement_result` gives the statement's score, spread, agreement
   (James, Demaree & Wolf's r_wg) and whether it is disputed.
4. :func:`principle_result` combines statements into a principle;
   :func:`combine` takes means of principles (area) and of areas (overall).
5. :func:`band` names a score a strength, developing or a concern.
6. Between two rounds, :func:`change_test` (Welch's t-test) and :func:`holm`
   decide whether a principle moved beyond noise.
7. :func:`suppress_groups` hides every side, sector or organisation with too
   few respondents, and :func:`group_gaps` lists the gaps between the groups
   that remain that are both large (20 points or more) and beyond noise
   (Welch's t-test, never surer than an exact test of so few people allows,
   with Holm's correction across every gap tested in the round).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Literal

__all__ = [
    "BAND_DEVELOPING",
    "BAND_STRENGTH",
    "DISPUTED_BELOW",
    "DISPUTED_MIN_N",
    "DONT_KNOW_LABEL",
    "GAP_THRESHOLD",
    "MIN_ANONYMITY_FLOOR",
    "SCALES",
    "Band",
    "ChangeResult",
    "Gap",
    "GroupStats",
    "PrincipleResult",
    "RoundChange",
    "Scale",
    "StatementAgg",
    "StatementResult",
    "band",
    "change_test",
    "combine",
    "compare_rounds",
    "gap_test",
    "group_gaps",
    "holm",
    "normalise",
    "principle_result",
    "regularised_incomplete_beta",
    "smallest_exact_p",
    "statement_result",
    "student_t_cdf",
    "student_t_two_sided_p",
    "suppress_groups",
]

Band = Literal["strength", "developing", "concern"]

#: A score at or above this is a strength (4.0 on a 1-5 scale).
BAND_STRENGTH = 75.0
#: A score at or above this, and below BAND_STRENGTH, is developing (3.0 on 1-5).
BAND_DEVELOPING = 50.0
#: An item or principle is disputed when agreement (r_wg) falls below this...
DISPUTED_BELOW = 0.5
#: ...and at least this many people answered it (two people cannot "dispute").
DISPUTED_MIN_N = 3
#: Groups whose scores on a principle differ by at least this many points, beyond noise,
#: form a gap.
GAP_THRESHOLD = 20.0
#: No group smaller than this is ever shown, whatever a partnership configures.
MIN_ANONYMITY_FLOOR = 3

# Scores are means of multiples of 2.5, 5, 10 or 25, so anything closer than
# this to a band edge is floating-point error, not a real difference.
_EPSILON = 1e-9


# --------------------------------------------------------------------------
# Scales and normalisation
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Scale:
    """One answer scale.

    ``answers`` are the raw values stored for a response, in order from the
    lowest to the highest; each is mapped linearly onto 0-100, so the lowest
    answer is 0 and the highest is 100. "Don't know" is not an answer point: it
    is stored as ``None`` (NULL) and is always allowed.
    """

    key: str
    title: str
    answers: tuple[int, ...]
    labels: Mapping[int, str]

    @property
    def points(self) -> int:
        """How many answer points the scale has ("don't know" not counted)."""
        return len(self.answers)

    @property
    def step(self) -> float:
        """How many points on the 0-100 scale one answer step is worth."""
        return 100.0 / (self.points - 1)

    @property
    def expected_variance(self) -> float:
        """The variance of answers spread uniformly over the scale, on 0-100.

        This is sigma squared EU in James, Demaree & Wolf (1984): the variance
        expected if people answered at random, used as the yardstick for
        agreement. A uniform distribution over A evenly spaced points has
        variance (A^2 - 1) / 12 steps squared; one step is 100 / (A - 1) points,
        which gives 1250 for five points, 1000 for eleven and 1666.67 for three.
        """
        a = self.points
        return (a * a - 1) / 12.0 * self.step**2

    def to_score(self, raw: int) -> float:
        """Map a raw answer onto 0-100; raises ValueError for a value off the scale."""
        # bool is a subclass of int, but True is not an answer anyone gave.
        if isinstance(raw, bool) or not isinstance(raw, int) or raw not in self.answers:
            allowed = ", ".join(str(a) for a in self.answers)
            raise ValueError(
                f"{raw!r} is not an answer on the {self.title} scale; use one of {allowed}, "
                "or None for don't know."
            )
        return (raw - self.answers[0]) * self.step


SCALES: Mapping[str, Scale] = {
    "agreement": Scale(
        key="agreement",
        title="agreement",
        answers=(1, 2, 3, 4, 5),
        labels={
            1: "Strongly disagree",
            2: "Disagree",
            3: "Neither agree nor disagree",
            4: "Agree",
            5: "Strongly agree",
        },
    ),
    # Stored as 0 = no, 1 = not sure, 2 = yes, so every answer column is numeric
    # and SUM/SUM(x*x) work the same for all scales.
    "yes_no": Scale(
        key="yes_no",
        title="yes / no / not sure",
        answers=(0, 1, 2),
        labels={0: "No", 1: "Not sure", 2: "Yes"},
    ),
    "zero_ten": Scale(
        key="zero_ten",
        title="0 to 10",
        answers=tuple(range(11)),
        labels={0: "0 (not at all)", **{i: str(i) for i in range(1, 10)}, 10: "10 (completely)"},
    ),
    # The words for each level come from the framework's anchors.
    "maturity": Scale(
        key="maturity",
        title="maturity",
        answers=(1, 2, 3, 4, 5),
        labels={i: f"Level {i}" for i in range(1, 6)},
    ),
}

#: The label shown for the answer that is stored as None.
DONT_KNOW_LABEL = "Don't know"


def _scale(key: str) -> Scale:
    try:
        return SCALES[key]
    except KeyError:
        allowed = ", ".join(SCALES)
        raise ValueError(f"'{key}' is not a scale; use one of {allowed}.") from None


def normalise(scale: str, raw: int | None, reverse: bool = False) -> float | None:
    """Turn one raw answer into a value from 0 to 100, or None for "don't know".

    Rules:

    * agreement and maturity, 1-5: (v - 1) x 25, so 1 -> 0, 3 -> 50, 5 -> 100;
    * zero_ten, 0-10: v x 10;
    * yes_no, stored as 0 (no), 1 (not sure), 2 (yes): v x 50, so no -> 0,
      not sure -> 50, yes -> 100;
    * a reverse-scored statement (a warning sign, where agreeing is bad news)
      becomes 100 - x, so that a high number always means a healthy partnership;
    * None ("don't know") stays None on every scale and is left out of every
      score, spread and count of respondents, rather than counted as a middle
      answer, which would pull scores towards 50 and hide disagreement.
    """
    sc = _scale(scale)
    if raw is None:
        return None
    value = sc.to_score(raw)
    return 100.0 - value if reverse else value


def band(score: float | None) -> Band | None:
    """Name the band a 0-100 score falls in, or None when there is no score.

    75 and above is a strength, 50 up to 75 is developing, below 50 is a
    concern; on a 1-5 agreement scale the edges are 4.0 and 3.0, the cut-offs
    used by the established partnership inventories. Differences smaller than
    one billionth of a point are treated as rounding error, so a mean that is
    75 on paper is a strength even if the arithmetic gave 74.99999999999.
    """
    if score is None:
        return None
    if score >= BAND_STRENGTH - _EPSILON:
        return "strength"
    if score >= BAND_DEVELOPING - _EPSILON:
        return "developing"
    return "concern"


def combine(scores: Iterable[float | None]) -> float | None:
    """The mean of the scores that exist, or None when none do.

    This is the rule for every level above a statement: a principle is the
    mean of its statements, an area the mean of its principles, and the overall
    score the mean of the areas. Each level below counts once whatever its
    number of statements or respondents, so a principle with five statements
    does not outweigh one with three. Levels with no score (nobody answered,
    or everyone said "don't know") are left out, not counted as zero.
    """
    present = [s for s in scores if s is not None]
    if not present:
        return None
    return math.fsum(present) / len(present)


# --------------------------------------------------------------------------
# Statements and principles: score, spread and agreement
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class StatementAgg:
    """What the database returns for one statement (and optionally one group).

    ``n`` is COUNT(value) (answers that were not "don't know"), ``total`` is
    SUM(value) and ``total_sq`` is SUM(value * value), all over normalised
    0-100 values; ``dont_know`` is the number of "don't know" answers
    (COUNT(*) - COUNT(value)).
    """

    n: int
    total: float
    total_sq: float
    dont_know: int = 0

    @classmethod
    def from_values(cls, values: Iterable[float | None]) -> StatementAgg:
        """Build the aggregate in Python, for tests and small in-memory uses."""
        n = dont_know = 0
        total = total_sq = 0.0
        for v in values:
            if v is None:
                dont_know += 1
                continue
            n += 1
            total += v
            total_sq += v * v
        return cls(n=n, total=total, total_sq=total_sq, dont_know=dont_know)

    @property
    def mean(self) -> float | None:
        """The mean of the answers, or None when nobody gave one."""
        return self.total / self.n if self.n else None

    @property
    def variance(self) -> float | None:
        """The sample variance (divided by n - 1), or None below two answers."""
        return _sample_variance(self.n, self.total, self.total_sq)


def _sample_variance(n: int, total: float, total_sq: float) -> float | None:
    if n < 2:
        return None
    # Sums of squares lose a little precision when subtracted; a variance can
    # never be negative, so small negative remainders are rounding error.
    return max(0.0, (total_sq - total * total / n) / (n - 1))


def _clip01(x: float) -> float:
    return min(1.0, max(0.0, x))


@dataclass(frozen=True)
class StatementResult:
    """The result for one statement.

    score: mean of the normalised answers (0-100), None when nobody answered.
    spread: sample standard deviation in points, None below two answers.
    agreement: r_wg clipped to 0-1 for display (1 = everyone gave the same
        answer, 0 = as spread out as random answers or more), None below two.
    disputed: at least three answers and r_wg below 0.5.
    n, dont_know: answers counted, and "don't know" answers left out.
    variance, expected_variance: s squared and sigma squared EU, kept so that
        principles can pool agreement across statements on different scales.
    """

    score: float | None
    spread: float | None
    agreement: float | None
    disputed: bool
    n: int = 0
    dont_know: int = 0
    variance: float | None = None
    expected_variance: float | None = None

    @property
    def band(self) -> Band | None:
        """The band of the score (see :func:`band`)."""
        return band(self.score)


def statement_result(agg: StatementAgg, scale: str) -> StatementResult:
    """Score one statement from its aggregate.

    * score = mean of the normalised answers;
    * spread = sample standard deviation, sqrt(s^2), with s^2 =
      (SUM(x^2) - SUM(x)^2 / n) / (n - 1); None when n < 2 because one answer
      has no spread;
    * agreement = r_wg = 1 - s^2 / sigma^2_EU (James, Demaree & Wolf 1984),
      comparing the observed variance with the variance of random answers on
      this scale (:attr:`Scale.expected_variance`). It can fall below 0 when
      people split into opposite camps (more spread than random); it is
      clipped to 0-1 for display;
    * disputed = n >= 3 and r_wg < 0.5: members are closer to random than to
      consensus. Two answers are never called disputed, because with two
      people one disagreement is all there is.
    """
    expected = _scale(scale).expected_variance
    variance = agg.variance
    rwg = None if variance is None else 1.0 - variance / expected
    return StatementResult(
        score=agg.mean,
        spread=None if variance is None else math.sqrt(variance),
        agreement=None if rwg is None else _clip01(rwg),
        disputed=rwg is not None and agg.n >= DISPUTED_MIN_N and rwg < DISPUTED_BELOW,
        n=agg.n,
        dont_know=agg.dont_know,
        variance=variance,
        expected_variance=expected,
    )


@dataclass(frozen=True)
class PrincipleResult:
    """The result for one principle (the same fields serve a group of statements).

    score: mean of its statement scores (statements with no score left out).
    spread: square root of the mean of the statement variances.
    agreement: the mean of the statements' r_wg, clipped to 0-1.
    disputed: n >= 3 and that mean r_wg below 0.5.
    n: the largest number of answers any of its statements received.
    """

    score: float | None
    spread: float | None
    agreement: float | None
    disputed: bool
    n: int = 0

    @property
    def band(self) -> Band | None:
        """The band of the score (see :func:`band`)."""
        return band(self.score)


def principle_result(statements: Iterable[StatementResult]) -> PrincipleResult:
    """Combine a principle's statement results.

    * score = mean of the statement scores, ignoring statements with none;
      statements on different scales combine because all are 0-100;
    * agreement = 1 - mean(s_j^2 / sigma^2_EU,j) over the statements with two
      or more answers, i.e. the average r_wg, each statement measured against
      the random-answer variance of its own scale. With a single scale this is
      1 - mean(s^2) / sigma^2_EU. We deliberately use this average rather than
      the multi-item r_wg(J) of James et al., which grows with the number of
      statements and would make long principles look more agreed than short ones;
    * spread = sqrt(mean(s_j^2)), the typical spread of a statement;
    * disputed = at least three answers to some statement and the average
      r_wg below 0.5, the same threshold as for a statement;
    * a principle with no statements, or none answered, has score None.
    """
    items = list(statements)
    score = combine(s.score for s in items)
    pooled = [
        (s.variance, s.expected_variance)
        for s in items
        if s.variance is not None and s.expected_variance
    ]
    n = max((s.n for s in items), default=0)
    if not pooled:
        return PrincipleResult(score=score, spread=None, agreement=None, disputed=False, n=n)
    mean_var = math.fsum(v for v, _ in pooled) / len(pooled)
    rwg = 1.0 - math.fsum(v / e for v, e in pooled) / len(pooled)
    return PrincipleResult(
        score=score,
        spread=math.sqrt(mean_var),
        agreement=_clip01(rwg),
        disputed=n >= DISPUTED_MIN_N and rwg < DISPUTED_BELOW,
        n=n,
    )


# --------------------------------------------------------------------------
# Change between rounds: Welch's t-test and Holm's correction
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class GroupStats:
    """Respondent-level principle scores for one round, as three sums.

    Each respondent's principle score is the mean of their own normalised
    answers to the principle's statements; the database then returns COUNT,
    SUM and SUM of squares of those per-respondent scores.
    """

    n: int
    total: float
    total_sq: float

    @classmethod
    def from_values(cls, values: Iterable[float]) -> GroupStats:
        """Build the sums in Python, for tests and small in-memory uses."""
        vals = list(values)
        return cls(n=len(vals), total=math.fsum(vals), total_sq=math.fsum(v * v for v in vals))

    @property
    def mean(self) -> float | None:
        """The mean principle score, or None for an empty round."""
        return self.total / self.n if self.n else None

    @property
    def variance(self) -> float | None:
        """The sample variance, or None below two respondents."""
        return _sample_variance(self.n, self.total, self.total_sq)


@dataclass(frozen=True)
class ChangeResult:
    """How far a principle moved between two rounds, and how surprising that is.

    difference: current mean minus previous mean, in points (None if a round
        has no respondents).
    p_value: two-sided p-value of Welch's t-test (None if either round has
        fewer than two respondents, so no variance can be estimated).
    """

    difference: float | None
    p_value: float | None


def change_test(prev: GroupStats, curr: GroupStats) -> ChangeResult:
    """Welch's unequal-variances t-test of the change in a principle's mean.

    t = (mean2 - mean1) / sqrt(s1^2/n1 + s2^2/n2), with the Welch-Satterthwaite
    degrees of freedom df = (s1^2/n1 + s2^2/n2)^2 /
    ((s1^2/n1)^2/(n1-1) + (s2^2/n2)^2/(n2-1)). Welch's version is used because
    the two rounds need not have the same number of respondents or the same
    spread (a partnership that has argued itself into agreement has a smaller
    spread the second time). The two rounds are treated as independent
    samples: responses are anonymous, so the same person cannot be paired
    across rounds; for a stable membership this makes the test conservative.

    When both rounds have zero variance the t statistic is undefined: the p-value
    is 1 if the means are equal and 0 if they differ (the limit as the spread
    shrinks to nothing).
    """
    m1, m2 = prev.mean, curr.mean
    if m1 is None or m2 is None:
        return ChangeResult(difference=None, p_value=None)
    difference = m2 - m1
    v1, v2 = prev.variance, curr.variance
    if v1 is None or v2 is None:
        return ChangeResult(difference=difference, p_value=None)
    a, b = v1 / prev.n, v2 / curr.n
    se2 = a + b
    if se2 <= 0.0:
        return ChangeResult(difference=difference, p_value=1.0 if difference == 0 else 0.0)
    t = difference / math.sqrt(se2)
    df = se2 * se2 / (a * a / (prev.n - 1) + b * b / (curr.n - 1))
    return ChangeResult(difference=difference, p_value=student_t_two_sided_p(t, df))


def holm(p_values: Sequence[float | None], alpha: float = 0.05) -> list[bool]:
    """Holm-Bonferroni: which of a round's changes are beyond noise.

    A round compares every principle (14 in the good governance framework).
    Testing each at 5% would flag at least one principle as "moved" in about
    half of all rounds even when nothing changed (1 - 0.95^14 = 0.51), and a
    partnership would start chasing noise. Holm's step-down procedure keeps the
    chance of flagging any unchanged principle at or below ``alpha`` for the
    whole round (family-wise error control), whatever the dependence between
    principles, while losing less power than plain Bonferroni:

    sort the m p-values from smallest to largest; compare the k-th smallest
    (k = 1..m) with alpha / (m - k + 1); flag it and continue while it is at
    or below that bound, and stop at the first that is not. None (no test
    possible) is never flagged and does not count towards m. The result lines
    up with the input list.
    """
    if not 0.0 < alpha < 1.0:
        raise ValueError("alpha must be between 0 and 1.")
    indexed = sorted((p, i) for i, p in enumerate(p_values) if p is not None)
    flags = [False] * len(p_values)
    m = len(indexed)
    for k, (p, i) in enumerate(indexed):
        if p > alpha / (m - k):
            break
        flags[i] = True
    return flags


@dataclass(frozen=True)
class RoundChange:
    """A :class:`ChangeResult` plus the verdict after Holm's correction."""

    difference: float | None
    p_value: float | None
    beyond_noise: bool


def compare_rounds(
    prev: Mapping[str, GroupStats], curr: Mapping[str, GroupStats], alpha: float = 0.05
) -> dict[str, RoundChange]:
    """Test every principle present in both rounds and correct across them.

    Keys are principle keys; principles missing from either round are left
    out. This is :func:`change_test` for each principle followed by
    :func:`holm` over the round's p-values.
    """
    keys = [k for k in curr if k in prev]
    results = [change_test(prev[k], curr[k]) for k in keys]
    flags = holm([r.p_value for r in results], alpha)
    return {
        k: RoundChange(r.difference, r.p_value, flag)
        for k, r, flag in zip(keys, results, flags, strict=True)
    }


def _beta_continued_fraction(a: float, b: float, x: float) -> float:
    """Continued fraction for the incomplete beta function (modified Lentz).

    Evaluates the classic expansion
    I_x(a, b) = x^a (1-x)^b / (a B(a, b)) * 1 / (1 + d1 / (1 + d2 / (1 + ...)))
    with d(2m+1) = -(a+m)(a+b+m) x / ((a+2m)(a+2m+1)) and
    d(2m) = m(b-m) x / ((a+2m-1)(a+2m)); it converges quickly for
    x < (a+1)/(a+b+2), and the caller uses the symmetry I_x(a,b) = 1 - I_(1-x)(b,a)
    otherwise.
    """
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c = 1.0
    d = 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 1000):
        m2 = 2 * m
        # Even step.
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        # Odd step.
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return h


def regularised_incomplete_beta(a: float, b: float, x: float) -> float:
    """I_x(a, b), the regularised incomplete beta function, for a, b > 0."""
    if a <= 0 or b <= 0:
        raise ValueError("a and b must be positive.")
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    front = math.exp(log_front)
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _beta_continued_fraction(a, b, x) / a
    return 1.0 - front * _beta_continued_fraction(b, a, 1.0 - x) / b


def student_t_two_sided_p(t: float, df: float) -> float:
    """P(|T| >= |t|) for Student's t with ``df`` (possibly fractional) degrees of freedom.

    Uses the identity P(|T| >= |t|) = I_x(df/2, 1/2) with x = df / (df + t^2).
    """
    if df <= 0:
        raise ValueError("degrees of freedom must be positive.")
    if math.isinf(t):
        return 0.0
    x = df / (df + t * t)
    return min(1.0, max(0.0, regularised_incomplete_beta(df / 2.0, 0.5, x)))


def student_t_cdf(t: float, df: float) -> float:
    """P(T <= t) for Student's t with ``df`` degrees of freedom."""
    tail = student_t_two_sided_p(t, df) / 2.0
    return 1.0 - tail if t > 0 else tail


# --------------------------------------------------------------------------
# Anonymity: suppressing small groups, and gaps between groups
# --------------------------------------------------------------------------


def suppress_groups(group_counts: Mapping[str, int], floor: int) -> set[str]:
    """Which groups (sides, sectors, organisations) must not be shown.

    Primary suppression: every group with fewer than ``floor`` respondents,
    including groups nobody from answered (they have nothing to show).

    Complementary suppression: the total is always shown, so a hidden group
    could still be worked out as "total minus every shown group". That is
    prevented by also hiding the next smallest shown group (by count, then by
    name so the choice is repeatable) while either

    * exactly one group with respondents is hidden and others are shown (the
      remainder would be that group alone), or
    * the hidden groups together have between 1 and ``floor - 1`` respondents
      (the remainder would itself be a group below the floor);

    or until every group is hidden. Afterwards the remainder is always at
    least two groups with ``floor`` or more respondents between them.

    This protects one breakdown at a time. The caller must still hide the
    round's total when fewer than ``floor`` people answered at all, and should
    not show two breakdowns (say side and sector) whose cells could be
    subtracted from each other.

    The floor can be raised, never lowered below 3: ValueError otherwise.
    """
    if isinstance(floor, bool) or not isinstance(floor, int) or floor < MIN_ANONYMITY_FLOOR:
        raise ValueError(
            f"The anonymity floor must be a whole number of at least {MIN_ANONYMITY_FLOOR}; "
            f"got {floor!r}."
        )
    for name, count in group_counts.items():
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ValueError(f"The count for group {name!r} must be a whole number of 0 or more.")

    suppressed = {g for g, n in group_counts.items() if n < floor}
    shown = sorted((n, g) for g, n in group_counts.items() if g not in suppressed)

    def at_risk() -> bool:
        hidden = [group_counts[g] for g in suppressed if group_counts[g] > 0]
        return 0 < sum(hidden) < floor or len(hidden) == 1

    while shown and at_risk():
        _, g = shown.pop(0)
        suppressed.add(g)
    return suppressed


@dataclass(frozen=True)
class Gap:
    """Two groups of one breakdown that see a principle differently, beyond noise.

    ``group_a`` rates the principle higher than ``group_b``; ``difference`` is
    score(a) - score(b), always positive. ``p_value`` is the two-sided p-value
    of the test between the two groups' respondents (see :func:`gap_test`),
    before Holm's correction; ``by`` names the breakdown (side, sector, ...).
    """

    principle: str
    group_a: str
    group_b: str
    difference: float
    p_value: float | None = None
    by: str = ""


def smallest_exact_p(n1: int, n2: int) -> float:
    """The smallest two-sided p-value an exact test can give for groups of n1 and n2.

    With n1 + n2 people, there are C(n1 + n2, n1) ways to split them into the two
    groups; the most extreme split, either way round, has probability
    2 / C(n1 + n2, n1). No test of so few people can honestly claim more: 3
    against 3 can never go below 0.1, 4 against 4 below 0.029.
    """
    return min(1.0, 2.0 / math.comb(n1 + n2, n1))


def gap_test(a: GroupStats, b: GroupStats) -> float | None:
    """Two-sided p-value for two groups' respondent principle scores, or None.

    Welch's t-test (as :func:`change_test`), never below the smallest p-value an
    exact (permutation) test of the same two group sizes can reach
    (:func:`smallest_exact_p`): the t-test assumes roughly normal scores, which
    groups of three to five people answering on a five-point scale are not, and
    two small groups that each happen to agree would otherwise get p = 0. None
    when either group has fewer than two respondents.
    """
    p = change_test(b, a).p_value
    if p is None:
        return None
    return max(p, smallest_exact_p(a.n, b.n))


def _tarone_holm(
    p_values: Sequence[float | None], floors: Sequence[float], alpha: float
) -> list[bool]:
    """Holm's correction over only the tests that could ever reach significance.

    A pair of groups of three can never give p below 0.1 (:func:`smallest_exact_p`),
    so counting it in Holm's m only makes every other test harder to pass.
    Tarone (1990): take the smallest K such that at most K tests have a smallest
    possible p-value of alpha / K or less, and correct over those tests alone.
    The others are never flagged, and which tests are kept depends only on the
    group sizes, never on the answers, so the chance of flagging any gap where
    groups do not really differ stays at or below alpha.
    """
    testable = sorted(f for f, p in zip(floors, p_values, strict=True) if p is not None)
    k = 1
    while sum(1 for f in testable if f <= alpha / k) > k:
        k += 1
    kept = [
        p if p is not None and floor <= alpha / k else None
        for p, floor in zip(p_values, floors, strict=True)
    ]
    return holm(kept, alpha)


def group_gaps(
    stats: Mapping[str, Mapping[str, Mapping[str, GroupStats]]],
    scores: Mapping[str, Mapping[str, Mapping[str, float | None]]] | None = None,
    *,
    threshold: float = GAP_THRESHOLD,
    alpha: float = 0.05,
) -> list[Gap]:
    """Gaps between groups that are both large enough to matter and beyond noise.

    ``stats`` maps breakdown -> group -> principle key -> :class:`GroupStats` of
    the group's respondents' principle scores; ``scores`` (same shape) gives the
    group scores shown on the page, whose difference is reported (the means of
    ``stats`` when left out). Pass only groups that are shown; this function
    lists whatever it is given.

    Every pair of groups within a breakdown is tested on every principle both
    have answers for (:func:`gap_test`), and Holm's correction is applied across
    all of those tests in the round at once, so that the chance of listing any
    gap where groups do not really differ stays at or below ``alpha`` for the
    whole round, however many sectors and organisations there are. Tests whose
    groups are too small ever to reach the corrected level are left out of the
    count first (Tarone's rule, see :func:`_tarone_holm`). A gap is
    listed only when, in addition, it is at least ``threshold`` points (20: a
    whole step on a five-point scale, worth a conversation); a smaller
    difference is not a finding even when it is beyond noise. The list is
    ordered by breakdown, principle (first seen first), largest gap first, then
    by group names.
    """
    candidates: list[tuple[str, str, str, str, float]] = []
    p_values: list[float | None] = []
    floors: list[float] = []
    by_order = {by: i for i, by in enumerate(stats)}
    principles: dict[str, int] = {}
    for by, groups in stats.items():
        for group in groups.values():
            for p in group:
                principles.setdefault(p, len(principles))
        for g1, g2 in combinations(groups, 2):
            for p in groups[g1]:
                a, b = groups[g1].get(p), groups[g2].get(p)
                if a is None or b is None:
                    continue
                if scores is not None:
                    ma, mb = scores[by][g1].get(p), scores[by][g2].get(p)
                else:
                    ma, mb = a.mean, b.mean
                if ma is None or mb is None:
                    continue
                candidates.append((by, p, g1, g2, ma - mb))
                p_values.append(gap_test(a, b))
                floors.append(smallest_exact_p(a.n, b.n))
    flags = _tarone_holm(p_values, floors, alpha)
    gaps: list[Gap] = []
    for (by, p, g1, g2, diff), p_value, beyond in zip(candidates, p_values, flags, strict=True):
        if beyond and abs(diff) >= threshold - _EPSILON:
            high, low = (g1, g2) if diff >= 0 else (g2, g1)
            gaps.append(Gap(p, high, low, abs(diff), p_value, by))
    gaps.sort(
        key=lambda g: (by_order[g.by], principles[g.principle], -g.difference, g.group_a, g.group_b)
    )
    return gaps
