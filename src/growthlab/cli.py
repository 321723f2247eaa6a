"""Command line: ``growthlab init | synth | validate | run | lists | index | reveal``.

Exit codes (SPEC §7): 0 success, 1 a notebook failed, 2 invalid input or configuration.
Errors the user can fix are printed as messages, never as tracebacks.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from growthlab.errors import ConfigError, GrowthlabError


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="growthlab", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("synth", help="generate a deterministic synthetic source with truth.json")
    s.add_argument("--users", type=int, default=20000, help="number of users (default 20000)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--out", default="data/sample", help="output folder (default data/sample)")
    s.add_argument("--format", choices=["csv", "parquet"], default="csv")

    n = sub.add_parser(
        "init",
        help="recognise the tables of an export folder and write a draft growthlab.yaml",
        description="Read the first rows of every CSV (UTF-8 or GB18030/GBK), Excel sheet and "
        "Parquet file in DIR, recognise the contract tables and columns from their headers and "
        "content, and write DIR/growthlab.yaml (commented) saying how to read them. The data "
        "files are never changed. Then run `growthlab validate DIR`.",
    )
    n.add_argument("folder", metavar="DIR", help="the folder of exported files")
    n.add_argument("--force", action="store_true", help="replace an existing growthlab.yaml")
    n.add_argument(
        "--print", dest="stdout", action="store_true", help="print the draft instead of writing it"
    )

    v = sub.add_parser("validate", help="validate a source against the data contract")
    v.add_argument("source", help="folder of CSV/Excel/Parquet files or a DuckDB file")
    v.add_argument(
        "--timezone",
        default=None,
        help="zone of naive timestamps (default: growthlab.yaml's, else Asia/Shanghai)",
    )
    v.add_argument("--as-of", default=None, help="analysis date (default: latest timestamp)")

    r = sub.add_parser("run", help="execute the report notebooks into reports/<run_id>/")
    r.add_argument(
        "--config",
        default=None,
        help="run configuration (default: runs/default.yaml here, else the default run "
        "installed with the package: every notebook, no source)",
    )
    r.add_argument("--source", default=None, help="override the config's source")
    r.add_argument(
        "-p", "--param", action="append", default=[], metavar="KEY=VALUE", help="override"
    )
    r.add_argument("--out", default="reports")

    li = sub.add_parser(
        "lists",
        help="write the people behind the report's numbers (raw ids) as CSV/XLSX lists",
        description="Write lists of users to act on - top spreaders to reward, suspicious "
        "inviters to review, valuable buyers at risk to win back and the members of each RFM "
        "segment - with the definitions and thresholds of the report (the run configuration, "
        "the source's growthlab.yaml and -p resolved as `growthlab run` resolves them). The "
        "files hold raw user ids: they go to an owner-only folder outside the reports "
        "(default: lists/<config>-<as_of>/ beside the reports folder). Do not forward them.",
    )
    li.add_argument(
        "--config", default=None, help="run configuration (default: the one `growthlab run` uses)"
    )
    li.add_argument("--source", default=None, help="override the config's source")
    li.add_argument(
        "-p", "--param", action="append", default=[], metavar="KEY=VALUE", help="override"
    )
    li.add_argument("--lang", choices=["en", "zh"], default=None, help="language of the texts")
    li.add_argument(
        "--out", default=None, help="folder for the lists (never inside the reports folder)"
    )
    li.add_argument(
        "--format",
        choices=["csv,xlsx", "csv", "xlsx"],
        default="csv,xlsx",
        help="files to write (default both; XLSX takes about a minute per million cells)",
    )
    li.add_argument(
        "--reports",
        default="reports",
        help="the reports folder (default reports): lists go beside it, never into it",
    )

    i = sub.add_parser("index", help="rebuild reports/index.html from the run folders")
    i.add_argument("--out", default="reports")

    x = sub.add_parser(
        "reveal",
        help="map report pseudonyms (u_..., p_...) back to ids with the local key",
        description="Hash the ids of a source with this machine's pseudonym key (the reports' "
        "key) and print 'pseudonym<TAB>id' for each pseudonym found; the ones not found are "
        "listed on stderr. Exit 0 when all were found, 1 when some were not, 2 when the source "
        "or key is unusable.",
    )
    x.add_argument("pseudonyms", nargs="+", metavar="PSEUDONYM", help="'-' reads them from stdin")
    where = x.add_mutually_exclusive_group(required=True)
    where.add_argument("--source", help="the source the reports were made from")
    where.add_argument("--ids-file", help="a text file of candidate ids, one per line")
    x.add_argument("--timezone", default=None, help="default: growthlab.yaml's, else Asia/Shanghai")
    x.add_argument("--as-of", default=None, help="analysis date of the reports (default: latest)")
    return p


def _candidates(args: argparse.Namespace) -> dict[str, list]:
    """Ids that may stand behind a pseudonym, by prefix (u_ users, p_ persons)."""
    if args.ids_file:
        try:
            with open(args.ids_file, encoding="utf-8") as f:
                ids = [line.strip() for line in f if line.strip()]
        except (OSError, UnicodeDecodeError) as err:
            raise ConfigError(f"cannot read ids file {args.ids_file}: {err}") from None
        return {"u_": ids, "p_": ids}
    from growthlab.data import load

    ds = load(args.source, timezone=args.timezone, as_of=args.as_of)
    if not ds.has("users"):
        raise ConfigError(f"source {args.source!r} has no users table")
    # ids the notebooks pseudonymise: users (user_id, inviter/invitee, referral roots) and persons
    users = list(ds.frame("users", ["user_id"])["user_id"])
    if ds.has("referrals"):
        refs = ds.frame("referrals", ["inviter_id", "invitee_id"])
        users += list(refs["inviter_id"]) + list(refs["invitee_id"])
    return {"u_": users, "p_": list(ds.persons["person_id"])}


def _reveal(args: argparse.Namespace) -> int:
    from growthlab import privacy

    wanted = list(args.pseudonyms)
    if "-" in wanted:
        wanted.remove("-")
        wanted += sys.stdin.read().split()
    key = privacy.resolve_key(create=False)  # a new key could never match: never create one
    where = f"file {key.path}" if key.path else f"${privacy.KEY_ENV}"
    print(f"pseudonym key {key.fingerprint} ({where})", file=sys.stderr)
    try:
        candidates = _candidates(args)
    except OSError as err:
        raise ConfigError(f"cannot read source {args.source}: {err}") from None
    found = privacy.reveal(wanted, candidates, key=key.secret)
    missing = []
    for pseudonym, ids in found.items():
        for ident in ids:
            print(f"{pseudonym}\t{ident}")
        if len(ids) > 1:
            print(f"growthlab reveal: {pseudonym} matches {len(ids)} ids", file=sys.stderr)
        if not ids:
            missing.append(pseudonym)
    if missing:
        print(
            f"growthlab reveal: not found ({len(missing)}): {' '.join(missing)}\n"
            "  (not made from these ids, or made with another key: compare the key fingerprint "
            "above with environment.pseudonymisation in the run's manifest.json)",
            file=sys.stderr,
        )
        return 1
    return 0


def _init(args: argparse.Namespace) -> int:
    from pathlib import Path

    from growthlab.data import infer

    folder = Path(args.folder)
    d, written = infer.init(folder, force=args.force, write=not args.stdout)
    if args.stdout:
        print(d.text, end="")
        print(infer.summary(d, folder, None), file=sys.stderr)
    else:
        print(infer.summary(d, folder, written))
    return 0 if d.ok else 2


def _lists(args: argparse.Namespace) -> int:
    from growthlab.report import lists, runner

    folder, manifest = lists.make(
        args.config if args.config is not None else runner.default_config(),
        source=args.source,
        overrides=args.param,
        out=args.out,
        reports=args.reports,
        lang=args.lang,
        formats=tuple(args.format.split(",")),
    )
    lang = manifest["lang"]
    print(f"as_of {manifest['as_of']}: {manifest.get('as_of_source') or 'given'}")
    for entry in manifest["lists"]:
        print(f"  {entry['name']:<34} {entry['rows']:>9,} rows  {entry['title'][lang]}")
    for s in manifest["skipped"]:
        print(f"  {s['list']:<34} {'skipped':>14}  {s['reason']}")
    print(f"wrote {len(manifest['lists'])} lists and {lists.MANIFEST} to {folder}")
    print(
        "growthlab lists: these files hold raw user ids (personal data): owner-only; "
        "do not forward them or put them where the reports are shared",
        file=sys.stderr,
    )
    return 0


def _validate(args: argparse.Namespace) -> int:
    from growthlab.data import load

    ds = load(args.source, timezone=args.timezone, as_of=args.as_of)
    print(ds.quality.summary())
    if ds.as_of_source:
        print(f"\nas_of chosen from: {ds.as_of_source}")
    if ds.description is not None:
        print(f"read as described in {ds.description.path}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "init":
            return _init(args)
        if args.command == "synth":
            from growthlab.data import synth

            path = synth.write(args.out, n_users=args.users, seed=args.seed, fmt=args.format)
            print(f"wrote synthetic source to {path}")
            return 0
        if args.command == "validate":
            return _validate(args)
        if args.command == "run":
            from growthlab.report import runner

            return runner.run(
                config=args.config if args.config is not None else runner.default_config(),
                source=args.source,
                overrides=args.param,
                out=args.out,
            )
        if args.command == "lists":
            return _lists(args)
        if args.command == "index":
            from growthlab.report import runner

            runner.rebuild_index(args.out)
            return 0
        if args.command == "reveal":
            return _reveal(args)
    except GrowthlabError as err:
        print(f"growthlab {args.command}: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("growthlab: interrupted", file=sys.stderr)
        return 130
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
