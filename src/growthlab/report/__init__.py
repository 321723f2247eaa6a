"""Reports: what notebooks call (record, say) and the papermill runner behind ``growthlab run``."""

from growthlab.report.notebook import RECORDED, escape, fmt, record, say, text

__all__ = ["RECORDED", "escape", "fmt", "record", "say", "text"]
