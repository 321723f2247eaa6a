"""Command line: ``growthlab synth | validate | run | index``.

Exit codes (SPEC §7): 0 success, 1 a notebook failed, 2 invalid input or configuration.
Errors the user can fix are printed as messages, never as tracebacks.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from growthlab.errors import GrowthlabError


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="growthlab", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("synth", help="generate a deterministic synthetic source with truth.json")
    s.add_argument("--users", type=int, default=20000, help="number of users (default 20000)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--out", default="data/sample", help="output folder (default data/sample)")
    s.add_argument("--format", choices=["csv", "parquet"], default="csv")

    v = sub.add_parser("validate", help="validate a source against the data contract")
    v.add_argument("source", help="folder of CSV/Parquet files or a DuckDB file")
    v.add_argument("--timezone", default="Asia/Shanghai")
    v.add_argument("--as-of", default=None, help="analysis date (default: latest timestamp)")

    r = sub.add_parser("run", help="execute the report notebooks into reports/<run_id>/")
    r.add_argument("--config", default="runs/default.yaml")
    r.add_argument("--source", default=None, help="override the config's source")
    r.add_argument(
        "-p", "--param", action="append", default=[], metavar="KEY=VALUE", help="override"
    )
    r.add_argument("--out", default="reports")

    i = sub.add_parser("index", help="rebuild reports/index.html from the run folders")
    i.add_argument("--out", default="reports")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "synth":
            from growthlab.data import synth

            path = synth.write(args.out, n_users=args.users, seed=args.seed, fmt=args.format)
            print(f"wrote synthetic source to {path}")
            return 0
        if args.command == "validate":
            from growthlab.data import load

            ds = load(args.source, timezone=args.timezone, as_of=args.as_of)
            print(ds.quality.summary())
            return 0
        if args.command == "run":
            from growthlab.report import runner

            return runner.run(
                config=args.config, source=args.source, overrides=args.param, out=args.out
            )
        if args.command == "index":
            from growthlab.report import runner

            runner.rebuild_index(args.out)
            return 0
    except GrowthlabError as err:
        print(f"growthlab {args.command}: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("growthlab: interrupted", file=sys.stderr)
        return 130
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
