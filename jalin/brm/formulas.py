"""The satisfaction and SLA formulas of the BRM reports, on counts that the queries aggregate
(so one GROUP BY serves every customer). They are the service module's own formulas —
`jalin.service.survey_stats` (CSAT, NPS, CES, response rate) and
`jalin.service.sla_results.attainment` — so a number reads the same on the survey
dashboard, the SLA report, a service review and the BRM metrics:

- CSAT % = answers at or above the survey's good threshold ÷ all answers × 100
- NPS = % promoters (9–10) − % detractors (0–6)
- CES = mean score (1–7)
- SLA attainment % = achieved ÷ total × 100, met when ≥ the required %
- response rate = answered ÷ sent × 100

Results are rounded once, half-up, to two places, and given as floats (JSON). None means
"no data" (never 0): a period without answers has no CSAT.
"""

from fractions import Fraction

from jalin.service import survey_stats
from jalin.service.sla_results import attainment


def _float(value):
    return None if value is None else float(value)


def percent(part, whole):
    if not whole:
        return None
    return _float(survey_stats.round2(Fraction(part, whole) * 100))


def csat_percent(good, total):
    return _float(survey_stats.csat_from_counts(good=good, answers=total))


def nps_score(promoters, detractors, total):
    passives = total - promoters - detractors
    return _float(survey_stats.nps({10: promoters, 0: detractors, 7: passives}))


def ces_mean(score_sum, total):
    if not total:
        return None
    return _float(survey_stats.round2(Fraction(score_sum, total)))


def attainment_percent(achieved, total):
    return _float(attainment(achieved, total))


def response_rate(answered, sent):
    return _float(survey_stats.response_rate(answered=answered, sent=sent))
