"""The report notebooks and their default run (``default.yaml``).

Installed with the package as ``growthlab.notebooks`` (pyproject.toml maps this folder there), so
``growthlab run --source DIR`` finds them without a checkout. Notebooks only: no code here.
"""
