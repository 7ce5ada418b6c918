"""Event consumers of the BRM registers: the CSI register fills itself from the service desk.

- `brm.csi_from_surveys` consumes `service.survey.answered`: an answer with a comment or a
  score below the survey's good threshold raises an improvement (source "survey", linked to
  the answer, its case and account).
- `brm.csi_from_cases` consumes `service.case.resolved`: a resolved complaint or feedback
  case raises an improvement (source complaint/feedback, linked to the case).

Both are idempotent: a receipt per event (`jalin.core.events.idempotent`) and, underneath, a
unique constraint (one improvement per survey answer, one per complaint/feedback case), so a
redelivered event, a replayed dead letter or a case resolved twice raise one entry. They run
in the event dispatcher, after the desk's transaction committed: if they fail, the desk (and
the hub, the CRM) never notice — the event is retried and finally dead-lettered.
"""

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from jalin.core.events import idempotent
from jalin.service.models import Case, CaseKind, SurveyResponse

from .models import Improvement, ImprovementSource
from .registers import improvement_create

SURVEY_CONSUMER = "brm.csi_from_surveys"
CASE_CONSUMER = "brm.csi_from_cases"
SURVEY_EVENT_TYPES = ("service.survey.answered",)
CASE_EVENT_TYPES = ("service.case.resolved",)
CASE_SOURCES = {CaseKind.COMPLAINT: ImprovementSource.COMPLAINT,
                CaseKind.FEEDBACK: ImprovementSource.FEEDBACK}


def _id(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _create_once(**kwargs):
    try:
        with transaction.atomic():
            return improvement_create(actor=None, **kwargs)
    except IntegrityError:
        return None  # raised before (the constraint holds): nothing to do


def raise_from_survey_answer(event):
    data = event.payload or {}
    response_id = _id(data.get("response_id"))
    if event.organization_id is None or response_id is None:
        return
    with idempotent(SURVEY_CONSUMER, event) as first_time:
        if not first_time:
            return
        response = (SurveyResponse.objects.select_related("survey", "organization")
                    .filter(pk=response_id, organization_id=event.organization_id).first())
        if response is None:
            return
        good = data.get("good")
        if not isinstance(good, bool):
            good = response.score >= response.survey.good_threshold
        if good and not response.comment.strip():
            return
        if Improvement.objects.filter(source_response=response).exists():
            return
        comment = response.comment.strip()
        title = (_("Survey answer %(score)s/%(survey)s: %(comment)s") % {
            "score": response.score, "survey": response.survey.name,
            "comment": comment} if comment else _("Low survey score %(score)s on %(survey)s")
            % {"score": response.score, "survey": response.survey.name})
        _create_once(organization=response.organization, source=ImprovementSource.SURVEY,
                     title=title[:200], description=comment, source_response=response,
                     source_case=response.case, account=response.account_id)


def raise_from_resolved_case(event):
    data = event.payload or {}
    case_id = _id(data.get("case_id")) or _id(event.aggregate_id)
    if event.organization_id is None or case_id is None:
        return
    with idempotent(CASE_CONSUMER, event) as first_time:
        if not first_time:
            return
        case = (Case.objects.select_related("organization")
                .filter(pk=case_id, organization_id=event.organization_id).first())
        if case is None or case.kind not in CASE_SOURCES:
            return
        source = CASE_SOURCES[case.kind]
        if Improvement.objects.filter(source_case=case, source=source).exists():
            return
        _create_once(organization=case.organization, source=source,
                     title=(_("From case #%(number)s: %(subject)s") % {
                         "number": case.number, "subject": case.subject})[:200],
                     description=case.description, source_case=case,
                     account=case.account_id, service=case.service_id)
