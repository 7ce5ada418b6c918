"""The threads panel on account, contact and activity pages, and the filter that renders a
post's text.

`{% threads_panel record %}` renders crm/threads/_panel.html for an Account, Contact or
Activity; it reads through the feature's selectors with a fixed number of queries.
`{{ comment|comment_html }}` renders a plain-text body safely: everything escaped, line
breaks kept, URLs linked with rel="noopener nofollow", resolved @mentions highlighted.
"""

from django import template
from django.utils.html import escape, urlize
from django.utils.safestring import mark_safe
from django.utils.text import normalize_newlines

from jalin.crm.threads.services import MENTION_RE

register = template.Library()


@register.inclusion_tag("crm/threads/_panel.html", takes_context=True)
def threads_panel(context, record):
    from jalin.crm.threads.views import panel_context

    request = context.get("request")
    base = {"record": record, "request": request, "membership": context.get("membership"),
            "csrf_token": context.get("csrf_token"), "csp_nonce": context.get("csp_nonce")}
    context_data = panel_context(request, record) if request is not None else None
    if context_data is None:
        return {**base, "unsupported": True}
    return {**base, **context_data}


def _linked(text):
    html = urlize(text, nofollow=True, autoescape=True)
    return html.replace(' rel="nofollow"', ' rel="noopener nofollow"')


@register.filter
def comment_html(comment):
    """The body as safe HTML (the body itself is never trusted as markup)."""
    body = normalize_newlines(comment.body or "")
    names = {user.username.lower() for user in comment.mentions.all()}
    parts, position = [], 0
    for match in MENTION_RE.finditer(body):
        name = match.group(1).rstrip(".-+")
        if name.lower() not in names:
            continue
        parts.append(_linked(body[position:match.start()]))
        parts.append(f'<span class="mention">@{escape(name)}</span>')
        position = match.start() + 1 + len(name)
    parts.append(_linked(body[position:]))
    html = "".join(parts)
    paragraphs = [paragraph.replace("\n", "<br>")
                  for paragraph in html.split("\n\n") if paragraph.strip()]
    # Safe: every piece came out of escape() or urlize(autoescape=True) above.
    return mark_safe("".join(f"<p>{paragraph}</p>" for paragraph in paragraphs))  # noqa: S308
