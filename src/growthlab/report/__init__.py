"""Reports: what notebooks call (record, say, show) and the papermill runner behind ``growthlab run``."""

from growthlab.report.notebook import (
    RECORDED,
    escape,
    findings_html,
    fmt,
    record,
    record_findings,
    say,
    sentence_html,
    show,
    show_findings,
    table_html,
    text,
)

__all__ = [
    "RECORDED",
    "escape",
    "findings_html",
    "fmt",
    "record",
    "record_findings",
    "say",
    "sentence_html",
    "show",
    "show_findings",
    "table_html",
    "text",
]
