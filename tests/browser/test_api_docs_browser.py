"""The API docs page (vendored Swagger UI) really renders in Chromium under the strict CSP."""

import pytest

from tests.test_api_docs import ROUTES

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_api_docs_render_under_the_csp(page, live_server, console_messages):
    failed = []
    # The browser asks for /favicon.ico by itself; every other request must succeed.
    page.on("response", lambda r: r.status >= 400 and not r.url.endswith("/favicon.ico")
            and failed.append(f"{r.status} {r.url}"))
    page.goto(live_server.url + "/api/v1/docs")
    page.wait_for_selector(".swagger-ui .info .title", timeout=15_000)
    assert "Jalin API" in page.inner_text(".swagger-ui .info .title")
    page.wait_for_selector('[data-path="/api/v1/auth/token"]', timeout=15_000)
    assert page.locator(".opblock").count() == sum(len(m) for m in ROUTES.values())
    problems = [m for m in console_messages
                if "Content Security Policy" in m or m.startswith("pageerror")
                or (m.startswith("error") and "404" not in m)]
    assert problems == [] and failed == []
