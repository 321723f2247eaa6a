"""Reports: what notebooks call (record, say, show) and the papermill runner behind ``growthlab run``."""

from growthlab.report.notebook import (
    RECORDED,
    escape,
    fmt,
    record,
    say,
    sentence_html,
    show,
    table_html,
    text,
)

__all__ = [
    "RECORDED",
    "escape",
    "fmt",
    "record",
    "say",
    "sentence_html",
    "show",
    "table_html",
    "text",
]
