"""growthlab: referral, segment, value and attribution analytics for private-domain growth.

Layers (data flows one way): ``growthlab.data`` (load, validate, normalise, aggregate in the
engine) -> analysis modules (pure functions on small frames) -> ``growthlab.plots`` ->
notebooks -> ``growthlab.report`` / ``growthlab.cli``.
"""

__version__ = "0.1.0"
