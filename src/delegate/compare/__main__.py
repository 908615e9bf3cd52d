"""``python -m delegate.compare --experiment NAME [--sweep ID|latest] [--out DIR]``.

Reads the runs back from MLflow only (``--tracking-uri``, else ``MLFLOW_TRACKING_URI``, else the
project's store), writes ``comparison.csv``, ``comparison.json``, ``pareto.png`` and ``curves.csv``
(and, when the problems carry levels and sources, ``comparison_by_level.csv``,
``comparison_by_source.csv`` and ``by_level.png``) and prints the headline table. Bad input: one
line on stderr, exit status 2.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from delegate.errors import DelegateError
from delegate.paths import PROJECT_ROOT


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m delegate.compare",
        description="Compare strategies on identical problems, from the MLflow store alone.",
    )
    parser.add_argument("--experiment", required=True, help="MLflow experiment name")
    parser.add_argument("--sweep", help="only this sweep's runs (its id, or 'latest')")
    parser.add_argument("--out", type=Path, help="output directory (default: comparisons/...)")
    parser.add_argument(
        "--tracking-uri",
        default=os.environ.get("MLFLOW_TRACKING_URI", f"sqlite:///{PROJECT_ROOT}/mlruns/mlflow.db"),
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)

    from delegate.compare.report import markdown, write_report
    from delegate.compare.runs import load_runs, open_store

    if args.out is not None and args.out.exists() and not args.out.is_dir():
        print(f"error: --out {args.out} is a file, not a directory", file=sys.stderr)
        return 2
    try:
        open_store(args.tracking_uri)
        loaded = load_runs(args.experiment, args.sweep)
    except DelegateError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for note in loaded.notes:
        print(f"note: {note}", file=sys.stderr)
    sweep = loaded.runs[0].sweep if args.sweep == "latest" else args.sweep
    name = sweep.replace("/", "_") if sweep else "all"
    out = args.out or PROJECT_ROOT / "comparisons" / args.experiment / name
    try:
        files, rows = write_report(args.experiment, sweep, out, loaded)
    except OSError as e:  # the directory cannot be made or written
        print(f"error: cannot write the report to {out}: {e.strerror or e}", file=sys.stderr)
        return 2
    print(markdown(rows))
    print(f"\nwritten: {', '.join(str(f) for f in files)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
