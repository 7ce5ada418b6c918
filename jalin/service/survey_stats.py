"""Satisfaction formulas (pure: no database, no Django).

Every function takes raw scores (an iterable of ints) or, for aggregates computed in the
database, a *histogram* ``{score: count}``; both give the same result. Results are ``Decimal``
rounded **once**, at the end, to two places with ROUND_HALF_UP (the exact value is computed
with fractions first, so e.g. an NPS is never off by a cent because its two percentages were
rounded separately). With no answers the result is ``None``, never 0: "nobody answered" is
not "everybody was unhappy".

- CSAT % = answers at or above the survey's good threshold ÷ all answers × 100
- NPS = % promoters (9–10) − % detractors (0–6), from −100 to 100
- CES = mean score (1–7)
- response rate % = answered ÷ sent × 100
- normalized score = (score − scale minimum) ÷ (scale maximum − scale minimum) × 100
"""

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

CENT = Decimal("0.01")
HUNDRED = 100

NPS_PROMOTER_FROM = 9
NPS_DETRACTOR_TO = 6


def round2(value: Fraction | int) -> Decimal:
    """An exact fraction as a Decimal rounded half-up to two places."""
    value = Fraction(value)
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(
        CENT, rounding=ROUND_HALF_UP)


def histogram(scores: Iterable[int] | Mapping[int, int]) -> Counter:
    """{score: count} from raw scores, or a copy of a histogram (zero counts dropped)."""
    if isinstance(scores, Mapping):
        result = Counter()
        for score, count in scores.items():
            count = int(count)
            if count < 0:
                raise ValueError("A histogram count cannot be negative.")
            if count:
                result[int(score)] += count
        return result
    return Counter(int(score) for score in scores)


def _share(hist: Counter, test) -> Fraction | None:
    total = sum(hist.values())
    if not total:
        return None
    return Fraction(sum(count for score, count in hist.items() if test(score)), total)


def csat_percent(scores, *, good_threshold: int) -> Decimal | None:
    """Share of answers at or above `good_threshold`, in percent."""
    share = _share(histogram(scores), lambda score: score >= good_threshold)
    return None if share is None else round2(share * HUNDRED)


def csat_from_counts(*, good: int, answers: int) -> Decimal | None:
    """CSAT % from counts (answers already judged good or not, e.g. across surveys whose good
    thresholds differ, each answer judged by its own survey's threshold)."""
    if good < 0 or answers < 0 or good > answers:
        raise ValueError("0 ≤ good ≤ answers.")
    if not answers:
        return None
    return round2(Fraction(good, answers) * HUNDRED)


def promoters_percent(scores) -> Decimal | None:
    share = _share(histogram(scores), lambda score: score >= NPS_PROMOTER_FROM)
    return None if share is None else round2(share * HUNDRED)


def detractors_percent(scores) -> Decimal | None:
    share = _share(histogram(scores), lambda score: score <= NPS_DETRACTOR_TO)
    return None if share is None else round2(share * HUNDRED)


def nps(scores) -> Decimal | None:
    """% promoters (9–10) − % detractors (0–6); passives (7–8) count only in the total."""
    hist = histogram(scores)
    total = sum(hist.values())
    if not total:
        return None
    promoters = sum(c for s, c in hist.items() if s >= NPS_PROMOTER_FROM)
    detractors = sum(c for s, c in hist.items() if s <= NPS_DETRACTOR_TO)
    return round2(Fraction(promoters - detractors, total) * HUNDRED)


def mean(scores) -> Decimal | None:
    """The mean score (CES is the mean of 1–7 answers)."""
    hist = histogram(scores)
    total = sum(hist.values())
    if not total:
        return None
    return round2(Fraction(sum(score * count for score, count in hist.items()), total))


ces = mean


def response_rate(*, answered: int, sent: int) -> Decimal | None:
    """answered ÷ sent, in percent; None when nothing was sent."""
    if answered < 0 or sent < 0:
        raise ValueError("Counts cannot be negative.")
    if not sent:
        return None
    return round2(Fraction(answered, sent) * HUNDRED)


def normalized(score: int, *, low: int, high: int) -> Decimal:
    """`score` on its scale [low, high] mapped to 0–100."""
    if high <= low:
        raise ValueError("The scale's maximum must be above its minimum.")
    if not low <= score <= high:
        raise ValueError(f"Score {score} is outside the scale {low}–{high}.")
    return round2(Fraction(score - low, high - low) * HUNDRED)


@dataclass(frozen=True)
class Summary:
    """Everything a dashboard row shows for one set of answers (one survey kind)."""

    answers: int
    csat: Decimal | None
    nps: Decimal | None
    promoters: Decimal | None
    detractors: Decimal | None
    mean: Decimal | None
    good: int


def summarize(scores, *, good_threshold: int | None = None) -> Summary:
    """All formulas over one histogram. `csat` needs a good threshold (None without one)."""
    hist = histogram(scores)
    good = (sum(c for s, c in hist.items() if s >= good_threshold)
            if good_threshold is not None else 0)
    return Summary(
        answers=sum(hist.values()),
        csat=csat_percent(hist, good_threshold=good_threshold)
        if good_threshold is not None else None,
        nps=nps(hist), promoters=promoters_percent(hist),
        detractors=detractors_percent(hist), mean=mean(hist), good=good,
    )
