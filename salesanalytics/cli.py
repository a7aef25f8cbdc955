"""Command line: ``salesanalytics run | sample | clean | validate``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

__all__ = ["main"]


def _missing_report_extra() -> str | None:
    """The first package of the ``report`` extra that cannot be imported, or None."""
    import importlib.util

    for module in ("papermill", "nbconvert", "nbformat", "ipykernel"):
        if importlib.util.find_spec(module) is None:
            return module
    return None


def _cmd_run(args) -> int:
    missing = _missing_report_extra()
    if missing:
        print(
            f"error: `salesanalytics run` needs the report extra ({missing} is not installed): "
            "pip install 'salesanalytics[report]'",
            file=sys.stderr,
        )
        return 2
    from .runner import ParamsError, RunError, run

    try:
        res = run(
            args.params,
            notebooks=args.notebooks or None,
            output=args.output,
            run_date=args.run_date,
            data=args.data,
            as_of=args.as_of,
            column_map=args.map,
            dry_run=args.dry_run,
            progress=not args.quiet,
        )
    except (ParamsError, RunError) as exc:
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        return 2
    return 0 if res.status in ("ok", "dry-run") else 1


def _one_line(exc: BaseException) -> str:
    """An exception as one masked line (multi-line messages joined)."""
    from .runner import mask_text

    text = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
    return mask_text(text or type(exc).__name__)


def _cmd_sample(args) -> int:
    from .sample import write_sample

    paths = write_sample(
        args.out, args.seed, effects=not args.no_effects, mess=not args.tidy, n_leads=args.leads
    )
    for p in paths:
        print(p)
    return 0


def _cmd_clean(args) -> int:
    from .clean import clean
    from .clean.mapping import load_column_map
    from .export import write_csv
    from .io import read_table

    try:
        raw = read_table(args.input)
        res = clean(
            raw,
            args.table,
            stages=args.stages,
            dayfirst=args.dayfirst,
            mask_pii=not args.no_mask,
            columns=load_column_map(args.map),
        )
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out)
    stem = Path(args.input).stem
    write_csv(res.data, out / f"{stem}.clean.csv")
    rejected = res.rejected.copy()
    rejected.insert(1, "source_line", rejected["row"] + 2)  # header is line 1
    write_csv(rejected, out / f"{stem}.rejected.csv")
    write_csv(res.quality, out / f"{stem}.quality.csv")
    (out / f"{stem}.report.json").write_text(
        json.dumps(res.report, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8"
    )
    r = res.report
    print(
        f"{args.input}: {r['rows_in']} rows in -> {r['clean']} clean, {r['rejected']} rejected, "
        f"{r['duplicates_dropped']} exact duplicates dropped; files in {out}"
    )
    return 0


def _validate_source(path: str, table: str | None):
    """A folder as is; a single file as ``{table: file}`` (table from --table or its name)."""
    from .dataset import find_table_files

    p = Path(path)
    if p.is_dir():
        return path
    if not p.is_file():
        raise FileNotFoundError(f"{path}: no such file or folder")
    if table is None:
        found = find_table_files(p.parent)
        table = next((t for t, f in found.items() if f.name == p.name), None)
        if table is None:
            raise ValueError(f"{path}: cannot tell which table the file holds; pass --table")
    return {table: str(p)}


def _cmd_validate(args) -> int:
    from .dataset import read_dataset
    from .quality import quality_summary

    try:
        ds = read_dataset(
            _validate_source(args.data, args.table),
            stages=args.stages,
            dayfirst=args.dayfirst,
            columns=args.map,
        )
    except (ValueError, FileNotFoundError, OSError, KeyError, UnicodeError) as exc:
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        return 2
    summary = ds.summary()
    print(summary.to_string(index=False))
    problems = quality_summary(ds)
    if len(problems):
        print("\nproblems:")
        print(problems.to_string(index=False))
    notes = ds.quality[ds.quality["action"] == "column"]
    if len(notes):
        print("\nnotes:")
        for _, n in notes.iterrows():
            print(f"  {n['table']}.{n['column']}: {n['detail']}")
    errors = int(summary["rejected"].sum())
    empty = summary.loc[summary["rows_in"] == 0, "table"].tolist()
    if errors:
        print(f"\nERRORS: {errors} rejected row(s) across {len(summary)} table(s)")
    if empty:
        what = "the export has no rows" if len(empty) == len(summary) else "empty table(s)"
        print(f"\nWARNING: {what}: {', '.join(empty)}")
    if not errors and not empty:
        print(f"\nOK: 0 rejected row(s) across {len(summary)} table(s)")
    return 1 if errors or len(empty) == len(summary) else 0


def days_or_auto(value: str) -> float | str:
    """``--window`` values: a number of days or ``auto``."""
    return value if value == "auto" else float(value)


def _cmd_calibrate_stages(args) -> int:
    from .calibration import StageProbabilityModel
    from .dataset import read_dataset

    try:
        ds = read_dataset(args.data, stages=args.stages)
        model = StageProbabilityModel(
            by="auto" if args.by is None else (args.by or None),
            half_life_days=args.half_life,
            window_days=args.window,
            age_effect={"on": True, "off": False}.get(args.age_effect, args.age_effect),
            min_count=args.min_count,
        ).fit(ds, as_of=args.as_of)
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    path = model.to_yaml(args.out)
    stage = model.table_.drop_duplicates("stage")
    for _, r in stage.iterrows():
        print(
            f"{r['stage']:>20}: {r['stage_estimate']:.3f} [{r['low']:.3f}, {r['high']:.3f}] "
            f"from {int(r['entered'])} deals (configured {r['configured']:.2f})"
        )
    print(f"written: {path}")
    return 0


def _cmd_calibrate_scorecard(args) -> int:
    import warnings

    from .dataset import read_dataset
    from .scoring import LeakageError, evaluate_scorecard, fit_scorecard

    try:
        ds = read_dataset(args.data, relax={args.table: args.relax} if args.relax else None)
        history = getattr(ds, args.table)
        if history is None:
            raise ValueError(f"no {args.table} table in {args.data or 'the sample'}")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fit = fit_scorecard(
                history, args.scorecard, outcome=args.outcome, allow_leaky=args.allow_leaky
            )
    except (ValueError, FileNotFoundError, KeyError, LeakageError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)
    print(fit.comparison.to_string(index=False))
    for name, card in (("hand-set", args.scorecard), ("fitted", fit.scorecard)):
        e = evaluate_scorecard(card, history, outcome=args.outcome)
        print(f"{name}: AUC {e.auc:.3f}, Brier {e.brier:.4f}, tiers monotone: {e.monotone}")
    print(f"written: {fit.scorecard.to_yaml(args.out)}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="salesanalytics", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("run", help="run notebooks into a dated report folder")
    r.add_argument("--params", help="params YAML (e.g. params/default.yaml)")
    r.add_argument(
        "--notebooks", nargs="*", help="notebook names to run (default: the file's list)"
    )
    r.add_argument("--output", help="report root folder (default: reports/)")
    r.add_argument("--run-date", help="report folder name, YYYY-MM-DD (default: today, UTC)")
    r.add_argument("--data", default=None, help="folder of table files (overrides data_dir)")
    r.add_argument("--as-of", default=None, help="snapshot date YYYY-MM-DD (overrides as_of)")
    r.add_argument(
        "--map", default=None, help="YAML {table: {header: canonical}} (overrides columns)"
    )
    r.add_argument(
        "--dry-run",
        action="store_true",
        help="check params, dates, folders and inputs; print the plan; run nothing",
    )
    r.add_argument("--quiet", action="store_true", help="no per-cell progress bar")
    r.set_defaults(func=_cmd_run)

    s = sub.add_parser("sample", help="generate the synthetic sample data")
    s.add_argument(
        "--seed", type=int, default=None, help="random seed (default: the committed sample's)"
    )
    s.add_argument("--out", default=None, help="output folder (default: data/sample)")
    s.add_argument(
        "--leads", type=int, default=11_000, help="number of leads (about 0.3 opportunities each)"
    )
    s.add_argument(
        "--no-effects",
        action="store_true",
        help="same process with no channel/rep effects and nothing planted",
    )
    s.add_argument("--tidy", action="store_true", help="write the files without the planted mess")
    s.set_defaults(func=_cmd_sample)

    c = sub.add_parser("clean", help="clean one table file: clean, rejected, quality, report out")
    c.add_argument("input", help="CSV / Excel / Parquet file")
    c.add_argument("--table", required=True, help="canonical table name, e.g. opportunities")
    c.add_argument("--out", required=True, help="output folder")
    c.add_argument("--stages", default=None, help="stage preset or YAML (default: default)")
    c.add_argument(
        "--dayfirst", action="store_true", default=None, help="ambiguous slash dates are D/M/Y"
    )
    c.add_argument("--no-mask", action="store_true", help="do not mask phone numbers and e-mails")
    c.add_argument("--map", default=None, help="column map YAML {table: {header: column}}")
    c.set_defaults(func=_cmd_clean)

    v = sub.add_parser("validate", help="report data problems; exit 1 when rows are rejected")
    v.add_argument("data", help="folder of table files, or one table file")
    v.add_argument("--table", default=None, help="table a single file holds (default: its name)")
    v.add_argument("--stages", default=None, help="stage preset or YAML")
    v.add_argument("--map", default=None, help="column map YAML {table: {header: column}}")
    v.add_argument(
        "--dayfirst", action="store_true", default=None, help="ambiguous slash dates are D/M/Y"
    )
    v.set_defaults(func=_cmd_validate)
    cal = sub.add_parser("calibrate", help="fit and export calibrated parameters")
    cal_sub = cal.add_subparsers(dest="what", required=True)
    cs = cal_sub.add_parser("stages", help="stage win probabilities -> stage config YAML")
    cs.add_argument(
        "--data", default="", help="folder of table files (default: the bundled sample)"
    )
    cs.add_argument("--as-of", required=True, help="fit on what was known at this date (ISO)")
    cs.add_argument(
        "--out",
        required=True,
        help="YAML to write, e.g. params/calibrated/stage_probabilities.yaml",
    )
    cs.add_argument("--stages", default=None, help="stage preset or YAML")
    cs.add_argument(
        "--by",
        nargs="*",
        help="segment columns shrunk toward the stage estimate (default: chosen out of time; "
        "`--by` alone: none)",
    )
    cs.add_argument("--half-life", type=float, default=None, help="recency half-life in days")
    cs.add_argument("--min-count", type=int, default=30, help="fewest deals per segment cell")
    cs.add_argument(
        "--window",
        type=days_or_auto,
        default=None,
        help="use only the last N days of history, or 'auto'",
    )
    cs.add_argument(
        "--age-effect",
        choices=["on", "off", "auto"],
        default="on",
        help="adjust for days already spent in the stage ('auto': by an inner check)",
    )
    cs.set_defaults(func=_cmd_calibrate_stages)
    cc = cal_sub.add_parser("scorecard", help="fit scorecard weights -> scorecard YAML")
    cc.add_argument(
        "--data", default="", help="folder of table files (default: the bundled sample)"
    )
    cc.add_argument(
        "--scorecard",
        required=True,
        help="hand-set scorecard YAML or preset name (its bands are kept)",
    )
    cc.add_argument(
        "--out", required=True, help="YAML to write, e.g. params/calibrated/scorecard.yaml"
    )
    cc.add_argument("--table", default="leads", help="table holding the history (default: leads)")
    cc.add_argument(
        "--outcome", default="converted", help="0/1 outcome column (default: converted)"
    )
    cc.add_argument("--relax", nargs="*", help="required columns of the table to treat as optional")
    cc.add_argument(
        "--allow-leaky", action="store_true", help="accept fields filled in after the outcome"
    )
    cc.set_defaults(func=_cmd_calibrate_scorecard)
    return p


def main(argv: list[str] | None = None) -> int:
    """Run a command; an expected failure is one line on stderr and exit code 2.

    Set ``SALESANALYTICS_DEBUG=1`` to see the traceback of an unexpected one.
    """
    import os

    args = build_parser().parse_args(argv)
    if args.command == "sample":
        from . import _paths
        from .sample import DEFAULT_SEED

        args.seed = DEFAULT_SEED if args.seed is None else args.seed
        args.out = args.out or str(_paths.SAMPLE_DIR)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # never a traceback for the user; one masked line instead
        if os.environ.get("SALESANALYTICS_DEBUG"):
            raise
        print(f"error: {type(exc).__name__}: {_one_line(exc)}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
