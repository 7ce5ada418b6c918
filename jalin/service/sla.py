"""SLA clocks of cases: the interface the service desk calls inside its own transactions.

INTERFACE ONLY (session 4 scaffolding): the case services (`jalin.service.cases`) call these
hooks; the SLA engine fills them in. Every hook runs inside the caller's transaction with the
case row locked, takes `now` (tests freeze time) and never commits on its own.
"""


def sla_policy_for(*, case):
    """(policy, agreement) that applies to `case`: the customer's active agreement covering
    the case (its service, if any) with an SLA policy, else the organization's default policy
    and no agreement. (None, None) when the organization has no policy at all."""
    return None, None


def sla_start(*, case, now=None):
    """Create the case's clocks (first response, resolution) from the policy that applies."""


def sla_on_first_response(*, case, now=None):
    """The first public staff reply: stop the first-response clock (met or breached)."""


def sla_on_status_change(*, case, old_status, now=None):
    """Pause clocks when the case waits on the customer, resume when it leaves waiting, stop
    the resolution clock on resolve/close/merge, restart it when a resolved case reopens."""


def sla_retarget(*, case, now=None):
    """The case's priority, service or agreement changed: apply the new targets, keeping the
    business time already elapsed and already paused."""
