"""growthlab.data: open a source, validate it against the contract, normalise it (SPEC §3).

``load(source, timezone=..., as_of=...) -> Dataset``; see docs/DEVELOPING.md for the Dataset API.
"""

from growthlab.data.contract import Problem
from growthlab.data.dataset import Dataset, load
from growthlab.data.quality import QualityReport

__all__ = ["Dataset", "Problem", "QualityReport", "load"]
