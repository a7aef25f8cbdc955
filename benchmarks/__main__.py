"""Run the benchmarks and write benchmarks/RESULTS.md.

python3 tasks.py bench                 # everything
python3 tasks.py bench funnel          # one section
python3 tasks.py bench funnel --quick  # 10k and 100k only
"""

from __future__ import annotations

import sys

from . import engines, forecast, funnel_speed, scoring, stage_calibration
from .results import write_section

SECTIONS = {
    "funnel": funnel_speed.run,
    "calibration": stage_calibration.run,
    "scoring": scoring.run,
    "forecast": forecast.run,
    "engines": engines.run,
}


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    names = [a for a in argv if not a.startswith("--")] or list(SECTIONS)
    for name in names:
        if name not in SECTIONS:
            print(f"unknown benchmark {name!r}; choose from {list(SECTIONS)}")
            return 2
        title, body = SECTIONS[name](quick=quick)
        write_section(title, body)
        print(f"\n{title}\n{body}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
