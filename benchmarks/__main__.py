"""Run the benchmarks and write benchmarks/RESULTS.md.

python3 tasks.py bench                 # everything
python3 tasks.py bench funnel          # one section
python3 tasks.py bench funnel --quick  # 10k and 100k only
python3 tasks.py bench scale --sizes=15000,150000 --runs=3   # options named --key=value
"""

from __future__ import annotations

import inspect
import sys

from . import engines, forecast, funnel_speed, ingest_speed, scale, scoring, stage_calibration
from .results import write_section

SECTIONS = {
    "funnel": funnel_speed.run,
    "calibration": stage_calibration.run,
    "scoring": scoring.run,
    "forecast": forecast.run,
    "scale": scale.run,
    "ingest": ingest_speed.run,
    "engines": engines.run,
}


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    names = [a for a in argv if not a.startswith("--")] or list(SECTIONS)
    pairs = (a[2:].split("=", 1) for a in argv if "=" in a)
    options = {key.replace("-", "_"): value for key, value in pairs}  # values kept as given
    for name in names:
        if name not in SECTIONS:
            print(f"unknown benchmark {name!r}; choose from {list(SECTIONS)}")
            return 2
        fn = SECTIONS[name]
        accepted = set(inspect.signature(fn).parameters)
        unknown = set(options) - accepted
        if unknown:
            print(f"benchmark {name!r} takes no option(s) {sorted(unknown)}")
            return 2
        title, body = fn(quick=quick, **options)
        write_section(title, body)
        print(f"\n{title}\n{body}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
