"""Chart.js configurations built on the server, rendered by jalin/charts.js.

Views pass the result to the template, which writes it with `json_script` next to a
`<canvas data-chart=...>`; no inline script is needed (the CSP forbids them).
"""

from decimal import Decimal

PALETTE = ("#1f6feb", "#d9480f", "#2f9e44", "#ae3ec9", "#f08c00", "#0c8599", "#868e96")


def _number(value):
    if value is None:
        return None
    if isinstance(value, Decimal):
        return float(value)
    return value


def chart_config(*, kind, labels, series, y_title="", y_max=None, stacked=False):
    """`series` is a list of (label, values) pairs, values aligned with `labels`;
    None values leave a gap (a period without data is not a zero)."""
    datasets = []
    for index, (label, values) in enumerate(series):
        colour = PALETTE[index % len(PALETTE)]
        datasets.append({
            "label": str(label),
            "data": [_number(v) for v in values],
            "borderColor": colour,
            "backgroundColor": colour,
            "spanGaps": False,
        })
    y_axis = {"beginAtZero": True, "stacked": stacked}
    if y_title:
        y_axis["title"] = {"display": True, "text": str(y_title)}
    if y_max is not None:
        y_axis["max"] = _number(y_max)
    return {
        "type": kind,
        "data": {"labels": [str(label) for label in labels], "datasets": datasets},
        "options": {"scales": {"x": {"stacked": stacked}, "y": y_axis}},
    }
