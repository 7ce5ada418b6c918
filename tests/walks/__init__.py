"""Route descriptions for the outsider walk and the API-docs route list, one module per
feature, so that features built side by side do not all edit one dict.

Each module here may define:
- `ROUTES`: {url pattern: Route(...)} merged into tests/test_outsider_walk.py's ROUTES;
- `API_ROUTES`: {"/api/v1/...": {"get", ...}} merged into tests/test_api_docs.py's ROUTES;
- `victim_records(*, org, owner, records)`: creates the victim's records for the feature and
  returns {name: object} for the Route kwargs. `records` holds what was made before (the
  victim's CRM account "crm_account", contact "crm_contact", users, ...). Put the marker text
  "Victim Supply Secret" in what you create, so a page that leaks it fails the walk.
"""

import importlib
import pkgutil
from dataclasses import dataclass, field

# How an outsider must be treated on a route:
#   REFUSE  - the route names a victim record: every method gets 403/404 (405 for a method the
#             route does not take), and at least one method a real 403/404.
#   OWN     - the route works on the outsider's own organization (lists, forms): any status
#             below 500, and the victim's data must not appear in the response.
#   PUBLIC  - open to anyone (sign-in, password reset, health, API schema): below 500, no
#             victim data.
#   ADMIN   - Django admin: a non-staff outsider is sent to the admin sign-in page.
REFUSE, OWN, PUBLIC, ADMIN = "refuse", "own", "public", "admin"


@dataclass
class Route:
    kind: str
    kwargs: dict = field(default_factory=dict)  # converter name -> victim attribute
    methods: tuple = ("GET", "POST")
    body: dict | None = None  # JSON body for API writes (so validation cannot answer first)


API_METHODS = ("GET", "POST", "PATCH", "DELETE")


def feature_modules():
    return [
        importlib.import_module(f"{__name__}.{info.name}")
        for info in sorted(pkgutil.iter_modules(__path__), key=lambda info: info.name)
    ]


def merged(attribute):
    combined = {}
    for module in feature_modules():
        part = getattr(module, attribute, {})
        overlap = set(part) & set(combined)
        assert not overlap, f"{module.__name__} describes routes twice: {sorted(overlap)}"
        combined.update(part)
    return combined


def victim_builders():
    return [m.victim_records for m in feature_modules() if hasattr(m, "victim_records")]
