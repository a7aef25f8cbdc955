"""benchmarks/RESULTS.md: one section per benchmark, replaced in place on each run."""

from __future__ import annotations

import platform
import re
from importlib.metadata import version
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
HEADER = "# Benchmark results\n\nWritten by `python3 tasks.py bench`; each section is replaced when its benchmark reruns.\n"


def machine() -> str:
    import os

    return (
        f"Python {platform.python_version()}, pandas {version('pandas')}, numpy {version('numpy')}, "
        f"{os.cpu_count()} cores, {platform.machine()}"
    )


def write_section(title: str, body: str) -> None:
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else HEADER
    block = f"## {title}\n\n{body.strip()}\n"
    pattern = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.S | re.M)
    text = (
        pattern.sub(block + "\n", text) if pattern.search(text) else text.rstrip() + "\n\n" + block
    )
    RESULTS.write_text(text.rstrip() + "\n", encoding="utf-8")
