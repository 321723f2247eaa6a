"""Strip notebook outputs before committing: ``python -m growthlab.report.strip notebooks/*.ipynb``.

Clears outputs and execution counts of code cells and drops execution metadata (papermill,
``execution`` timings, widget state), keeping cell tags such as ``parameters``. Files that are
already clean are not rewritten. ``--check`` only reports dirty files (exit 1 if any).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import nbformat

_CELL_META_DROP = ("execution", "papermill", "collapsed", "scrolled", "ExecuteTime")
_NB_META_DROP = ("papermill", "widgets", "toc-autonumbering")


def strip_notebook(nb: nbformat.NotebookNode) -> bool:
    """Remove outputs and run metadata from ``nb`` in place; True when something changed."""
    changed = False
    for key in _NB_META_DROP:
        if key in nb.metadata:
            del nb.metadata[key]
            changed = True
    for cell in nb.cells:
        for key in _CELL_META_DROP:
            if key in cell.metadata:
                del cell.metadata[key]
                changed = True
        if cell.cell_type == "code":
            if cell.get("outputs"):
                cell.outputs = []
                changed = True
            if cell.get("execution_count") is not None:
                cell.execution_count = None
                changed = True
    return changed


def strip_file(path: str | Path, check: bool = False) -> bool:
    """Strip one file (rewritten only when dirty); returns True when it was dirty."""
    p = Path(path)
    nb = nbformat.read(str(p), as_version=4)
    dirty = strip_notebook(nb)
    if dirty and not check:
        nbformat.write(nb, str(p))
    return dirty


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point (see module docstring)."""
    ap = argparse.ArgumentParser(prog="python -m growthlab.report.strip", description=__doc__)
    ap.add_argument("paths", nargs="+", help="notebook files")
    ap.add_argument("--check", action="store_true", help="report dirty files, change nothing")
    args = ap.parse_args(argv)
    dirty = [p for p in args.paths if strip_file(p, check=args.check)]
    for p in dirty:
        print(f"{'has outputs' if args.check else 'stripped'}: {p}")
    return 1 if (args.check and dirty) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
