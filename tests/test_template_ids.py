"""Record ids must reach links, form values and element ids unlocalized.

USE_THOUSAND_SEPARATOR is on, so `{{ order.pk }}` renders 1182 as "1,182": a link
`?account=1,182` no longer parses and `hx-target="#row-1,182"` is no CSS selector. This only
shows once a database's sequences pass 999 (a long PostgreSQL run), so it is checked here over
every template instead of being left to chance."""

import re
from pathlib import Path

import pytest
from django.template import Context, Template
from django.test import override_settings

ROOT = Path(__file__).resolve().parent.parent / "jalin"
PLAIN_ID = re.compile(r"\{\{\s*[A-Za-z_][\w.]*(?:\.pk|\.id|_id)\s*\}\}")


def test_no_template_prints_an_id_localized():
    offenders = []
    for path in sorted(ROOT.rglob("templates/**/*.html")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for match in PLAIN_ID.finditer(line):
                offenders.append(f"{path.relative_to(ROOT.parent)}:{number}: {match.group(0)}")
    assert not offenders, "use |unlocalize (or {% url %}) for ids:\n" + "\n".join(offenders)


@pytest.mark.parametrize("source, expected", [
    ("{{ pk }}", "1,182"),
    ("{{ pk|unlocalize }}", "1182"),
])
@override_settings(USE_THOUSAND_SEPARATOR=True, LANGUAGE_CODE="en")
def test_unlocalize_is_available_without_loading_l10n(source, expected):
    # The first case shows why the check above exists; the second that `unlocalize` needs no
    # {% load l10n %} (it is a template builtin in settings).
    assert Template(source).render(Context({"pk": 1182})) == expected
