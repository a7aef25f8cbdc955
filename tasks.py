#!/usr/bin/env python3
"""Set-up and task runner for salesanalytics (standard library only).

Every task creates or reuses ``.venv`` and installs the project into it with the
pinned versions of ``constraints.txt`` before running, so a machine with only
Python 3.11 needs nothing else::

    python3 tasks.py report      # all notebooks on data/sample -> reports/<date>/
    python3 tasks.py test        # the whole test suite (what CI runs)
    python3 tasks.py lint        # ruff check + format check
    python3 tasks.py notebooks   # re-execute notebooks in place (refresh stored outputs)
    python3 tasks.py bench       # benchmarks -> benchmarks/RESULTS.md
    python3 tasks.py lock        # re-pin constraints.txt from a fresh resolve

Extra arguments after the task name are passed on (to pytest, or to the CLI).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".install-stamp"


def _say(msg: str) -> None:
    print(f"[tasks] {msg}", flush=True)


def _run(*cmd: str | os.PathLike, env: dict | None = None) -> int:
    return subprocess.call([str(c) for c in cmd], cwd=ROOT, env=env)


def _install_key() -> str:
    h = hashlib.sha256()
    for name in ("pyproject.toml", "constraints.txt"):
        p = ROOT / name
        h.update(p.read_bytes() if p.exists() else b"")
    return h.hexdigest()


def ensure_env() -> None:
    """Create .venv and install the project with pinned versions when needed."""
    if sys.version_info[:2] != (3, 11):
        _say(f"warning: Python 3.11 expected, running {sys.version.split()[0]}")
    if not PY.exists():
        _say("creating virtual environment .venv")
        venv.EnvBuilder(with_pip=True).create(VENV)
    key = _install_key()
    if STAMP.exists() and STAMP.read_text() == key:
        return
    _say("installing salesanalytics and pinned dependencies (first run takes a minute)")
    cons = ["-c", "constraints.txt"] if (ROOT / "constraints.txt").exists() else []
    rc = _run(
        PY,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        *cons,
        "-e",
        ".[dev,report,sql,engine,spark]",
    )
    if rc:
        sys.exit(rc)
    STAMP.write_text(key)


def _env() -> dict:
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("PYTHONHASHSEED", "0")
    return env


def main(argv: list[str]) -> int:
    task, extra = (argv[0], argv[1:]) if argv else ("help", [])
    if task in ("help", "-h", "--help"):
        print(__doc__)
        return 0
    if task == "lock":
        tmp = ROOT / ".venv-lock"
        if not tmp.exists():
            venv.EnvBuilder(with_pip=True, clear=True).create(tmp)
        tpy = tmp / "bin" / "python"
        rc = _run(tpy, "-m", "pip", "install", "--quiet", ".[dev,report,sql]")
        if rc:
            return rc
        out = subprocess.run(
            [str(tpy), "-m", "pip", "freeze", "--exclude-editable"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        lines = [ln for ln in out.splitlines() if not ln.lower().startswith("salesanalytics")]
        (ROOT / "constraints.txt").write_text(
            "# Pinned by `python3 tasks.py lock`; used by every install in tasks.py.\n"
            + "\n".join(sorted(lines, key=str.lower))
            + "\n"
        )
        _say(f"constraints.txt: {len(lines)} pins")
        return 0
    ensure_env()
    env = _env()
    if task == "setup":
        return 0
    if task == "report":
        args = extra or ["--params", "params/default.yaml"]
        return _run(BIN / "salesanalytics", "run", *args, env=env)
    if task == "test":
        return _run(PY, "-m", "pytest", *extra, env=env)
    if task == "lint":
        return _run(PY, "-m", "ruff", "check", ".", env=env) or _run(
            PY, "-m", "ruff", "format", "--check", ".", env=env
        )
    if task == "notebooks":
        return _run(PY, "-m", "salesanalytics._notebooks", *extra, env=env)
    if task == "bench":
        return _run(PY, "-m", "benchmarks", *extra, env=env)
    if task == "cli":
        return _run(BIN / "salesanalytics", *extra, env=env)
    _say(f"unknown task {task!r}; see `python3 tasks.py help`")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
