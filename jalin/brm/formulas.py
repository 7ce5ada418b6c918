"""The satisfaction and SLA formulas the BRM reports use, on counts that the queries
aggregate (so one GROUP BY serves every customer). Written as in the issue:

- CSAT % = answers at or above the survey's good threshold ÷ all answers × 100
- NPS = % promoters (9–10) − % detractors (0–6)
- CES = mean score (1–7)
- SLA attainment % = achieved ÷ total × 100, met when ≥ the required %
- response rate = answered ÷ sent × 100

None means "no data" (never 0): a period without answers has no CSAT.
"""

from decimal import ROUND_HALF_UP, Decimal

ONE_DECIMAL = Decimal("0.1")


def _round(value):
    return float(Decimal(value).quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP))


def percent(part, whole):
    if not whole:
        return None
    return _round(Decimal(part) * 100 / Decimal(whole))


def csat_percent(good, total):
    return percent(good, total)


def nps_score(promoters, detractors, total):
    if not total:
        return None
    return _round((Decimal(promoters) - Decimal(detractors)) * 100 / Decimal(total))


def ces_mean(score_sum, total):
    if not total:
        return None
    return _round(Decimal(score_sum) / Decimal(total))


def attainment_percent(achieved, total):
    return percent(achieved, total)


def response_rate(answered, sent):
    return percent(answered, sent)
