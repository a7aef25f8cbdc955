"""The report runner: notebooks + params file -> a dated, self-describing report folder.

``run()`` checks the params file against every notebook's declared parameters before
anything runs, executes the notebooks with papermill (explicit kernel, explicit working
directory) into a staging folder, exports HTML without code, writes ``manifest.json`` and
only then moves the folder to ``<output>/<run-date>/`` and points ``latest`` at it. A
failed run is kept as ``<run-date>-failed`` and leaves the last good report and ``latest``
untouched.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from . import _paths
from .params import ParamsError, parse_iso_date, read_yaml_mapping, validate_run_params

__all__ = [
    "ParamsError",
    "RunError",
    "RunResult",
    "mask_text",
    "refuse_runner_format",
    "check_run_date",
    "run",
    "load_params",
    "plan_run",
    "notebook_parameters",
    "discover_notebooks",
]

PATH_SUFFIXES = ("_dir", "_file", "_path")
VERSIONED = (
    "salesanalytics",
    "pandas",
    "numpy",
    "scipy",
    "scikit-learn",
    "matplotlib",
    "pandera",
    "papermill",
    "nbconvert",
    "nbclient",
    "ipykernel",
    "openpyxl",
    "pyyaml",
)
_TYPES: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
    "list": (list,),
    "dict": (dict,),
}


class RunError(RuntimeError):
    """An expected failure before or around the run (folder, lock, unreadable input)."""


_RUN_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def mask_text(text: str) -> str:
    """Mask phone numbers and e-mail addresses in free text (messages, manifest, HTML).

    Examples
    --------
    >>> masked = mask_text("call 13912345678 or mail li.lei@example.com")
    >>> "13912345678" in masked or "li.lei@example.com" in masked
    False
    """
    from .clean.pii import mask_message

    return mask_message(text)


def check_run_date(value: str) -> str:
    """A run date (report folder name) is ``YYYY-MM-DD`` and nothing else.

    Examples
    --------
    >>> check_run_date("2026-07-06")
    '2026-07-06'
    """
    if not isinstance(value, str) or not _RUN_DATE.match(value):
        raise ParamsError(f"--run-date: {value!r} is not a date; write YYYY-MM-DD")
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        raise ParamsError(f"--run-date: {value!r} is not a calendar date") from None
    return value


RUNNER_KEYS = ("notebooks", "parameters", "notebook_parameters")


def refuse_runner_format(namespace: dict[str, Any]) -> None:
    """Stop a notebook given a runner-format params file directly (``papermill -f``).

    Papermill injects the file's top-level keys as variables, so ``parameters`` and
    ``notebook_parameters`` would be silently ignored: refuse with the reason instead.
    Notebooks call ``sa.refuse_runner_format(globals())`` right after their parameters.
    """
    found = [k for k in RUNNER_KEYS if k in namespace]
    if found:
        raise ParamsError(
            f"this params file is in the runner format (keys {found}); run it with "
            "`salesanalytics run --params FILE`, or give papermill flat parameters "
            "(-p name value, or a YAML of name: value)"
        )


@dataclass
class NotebookRun:
    name: str
    parameters: dict[str, Any]
    status: str = "pending"
    started_at: str | None = None
    finished_at: str | None = None
    seconds: float | None = None
    error: dict[str, Any] | None = None


@dataclass
class RunResult:
    folder: Path | None
    status: str
    notebooks: list[NotebookRun] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def discover_notebooks(folder: Path | None = None) -> dict[str, Path]:
    """``NN-topic.ipynb`` notebooks by name (without suffix), in order."""
    folder = folder or _paths.NOTEBOOKS_DIR
    return {p.stem: p for p in sorted(folder.glob("[0-9][0-9]-*.ipynb"))}


def notebook_parameters(path: Path) -> dict[str, dict[str, Any]]:
    """Declared parameters of a notebook: ``{name: {"type": ..., "default": ..., "help": ...}}``."""
    import papermill as pm

    params = pm.inspect_notebook(str(path))
    return {
        k: {"type": v["inferred_type_name"], "default": v["default"], "help": v["help"]}
        for k, v in params.items()
    }


def load_params(path: str | Path | None) -> dict[str, Any]:
    """Read and validate a params YAML: ``notebooks``, ``parameters``,
    ``notebook_parameters``, ``columns`` (per-table header mapping), ``description``."""
    if path is None:
        return validate_run_params({}, "(no params file)")
    return validate_run_params(read_yaml_mapping(path), path)


def _type_ok(value: Any, declared: str) -> bool:
    if declared not in _TYPES or value is None:
        return True  # undeclared / None default: papermill cannot tell, accept
    if isinstance(value, bool) and declared != "bool":
        return False
    return isinstance(value, _TYPES[declared])


def plan_run(
    spec: dict[str, Any],
    names: Sequence[str] | None = None,
    available: dict[str, Path] | None = None,
) -> list[NotebookRun]:
    """Select notebooks and check every parameter against their declarations.

    Raises
    ------
    ParamsError
        Unknown notebook, a parameter no notebook declares, or a wrong type.
    """
    available = available if available is not None else discover_notebooks()
    chosen = list(names) if names else spec.get("notebooks", "all")
    if chosen == "all" or chosen == ["all"]:
        chosen = list(available)
    missing = [n for n in chosen if n not in available]
    if missing:
        raise ParamsError(f"unknown notebook(s) {missing}; available: {list(available)}")
    everywhere = {n: notebook_parameters(p) for n, p in available.items()}
    declared = {n: everywhere[n] for n in chosen}
    errors = []
    common = spec.get("parameters", {})
    for key in common:  # checked against every notebook: a params file serves subsets too
        if not any(key in d for d in everywhere.values()):
            errors.append(f"parameter {key!r} is declared by none of {list(available)}")
    per_nb = spec.get("notebook_parameters", {})
    for nb, values in per_nb.items():
        if nb not in available:
            errors.append(f"notebook_parameters names unknown notebook {nb!r}")
            continue
        for key in values or {}:
            if key not in everywhere[nb]:
                errors.append(
                    f"{nb}: unknown parameter {key!r}; it declares {sorted(everywhere[nb])}"
                )
    runs = []
    columns = spec.get("columns") or {}
    for nb in chosen:
        values = {k: v for k, v in common.items() if k in declared[nb]}
        if columns and "columns" in declared[nb]:
            values["columns"] = columns
        values.update(per_nb.get(nb) or {})
        for key, value in values.items():
            if key in declared[nb] and not _type_ok(value, declared[nb][key]["type"]):
                errors.append(
                    f"{nb}: parameter {key!r} should be {declared[nb][key]['type']}, "
                    f"got {type(value).__name__} {value!r}"
                )
        runs.append(NotebookRun(nb, values))
    if errors:
        raise ParamsError("params do not fit the notebooks:\n  - " + "\n  - ".join(errors))
    return runs


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in VERSIONED:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def _git_commit() -> dict[str, Any] | None:
    try:
        root = str(_paths.PROJECT_ROOT)
        sha = subprocess.run(
            ["git", "-C", root, "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10
        )
        if sha.returncode:
            return None
        dirty = (
            subprocess.run(
                ["git", "-C", root, "status", "--porcelain", "--untracked-files=no"],
                capture_output=True,
                text=True,
                timeout=10,
            ).stdout.strip()
            != ""
        )
        return {"commit": sha.stdout.strip(), "dirty": dirty}
    except (OSError, subprocess.SubprocessError):
        return None


def _input_files(runs: list[NotebookRun]) -> dict[str, str]:
    """SHA-256 of every file in every data folder or file the notebooks were given."""
    files: dict[str, str] = {}
    for r in runs:
        for key, value in r.parameters.items():
            if key == "data_dir":
                folder = Path(value) if value else _paths.SAMPLE_DIR
                for p in sorted(folder.glob("*")) if folder.is_dir() else []:
                    if p.is_file():
                        files[str(p)] = _sha256(p)
            elif key.endswith(("_file", "_path")) and value and Path(value).is_file():
                files[str(value)] = _sha256(Path(value))
    if not any(k == "data_dir" for r in runs for k in r.parameters):
        for p in sorted(_paths.SAMPLE_DIR.glob("*")):
            files[str(p)] = _sha256(p)
    return files


@contextlib.contextmanager
def kernel_environment():
    """Kernels draw inline (as in JupyterLab) whatever MPLBACKEND the caller has set."""
    saved = os.environ.pop("MPLBACKEND", None)
    try:
        yield
    finally:
        if saved is not None:
            os.environ["MPLBACKEND"] = saved


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _unique(folder: Path) -> Path:
    if not folder.exists():
        return folder
    i = 2
    while folder.with_name(f"{folder.name}_{i}").exists():
        i += 1
    return folder.with_name(f"{folder.name}_{i}")


def _export_html(nb_path: Path) -> Path:
    import nbformat
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True
    )
    body, _ = exporter.from_notebook_node(nbformat.read(nb_path, as_version=4))
    out = nb_path.with_suffix(".html")
    out.write_text(body, encoding="utf-8")
    return out


def _point_latest(output: Path, target: Path) -> None:
    """Point ``latest`` at ``target`` atomically: a symlink under a temporary name, then
    ``os.replace``; ``latest`` is never missing nor dangling in between."""
    link = output / "latest"
    tmp = output / f".latest.{os.getpid()}.tmp"
    try:
        if tmp.is_symlink() or tmp.exists():
            tmp.unlink()
        tmp.symlink_to(target.name, target_is_directory=True)
        os.replace(tmp, link)
    except OSError:  # file systems without symlinks: a text pointer instead
        with contextlib.suppress(OSError):
            tmp.unlink()
        pointer = output / f".LATEST.{os.getpid()}.tmp"
        pointer.write_text(target.name + "\n", encoding="utf-8")
        os.replace(pointer, output / "LATEST")


def _inside(folder: Path, path: Path, what: str) -> Path:
    """``path`` resolved, refused unless it lies inside ``folder``."""
    resolved = path.resolve()
    if resolved != folder and folder not in resolved.parents:
        raise ParamsError(f"{what}: {path} would be written outside the output folder {folder}")
    return resolved


@contextlib.contextmanager
def _run_lock(output: Path):
    """One run at a time per output folder: an exclusive lock on ``<output>/.run.lock``."""
    path = output / ".run.lock"
    try:
        fh = open(path, "a+", encoding="utf-8")
    except OSError as exc:
        raise RunError(f"{output}: output folder is not writable ({exc.strerror})") from None
    try:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX
            fcntl = None
        if fcntl is not None:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                fh.seek(0)
                holder = fh.read().strip() or "?"
                raise RunError(
                    f"{output}: another run is writing to this folder (pid {holder}, lock "
                    f"{path}); wait for it to finish and run again"
                ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        yield
    finally:
        fh.close()


def _check_output(output: Path) -> None:
    try:
        output.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunError(f"{output}: cannot create the output folder ({exc.strerror})") from None
    if not output.is_dir() or not os.access(output, os.W_OK | os.X_OK):
        raise RunError(f"{output}: output folder is not writable")


def _check_inputs(runs: list[NotebookRun]) -> list[str]:
    """Every data folder exists and each table file in it can be read; returns warnings.

    Reads the raw files only (nothing is cleaned or computed). An export whose tables hold
    no row is a warning, not OK.
    """
    from .dataset import find_table_files
    from .engine.connect import is_url
    from .io import read_table

    warnings_: list[str] = []
    seen: set[str] = set()
    for r in runs:
        if "data_dir" not in r.parameters:
            continue
        value = r.parameters["data_dir"]
        if is_url(value):  # an engine connection: checked when the notebook connects
            continue
        folder = Path(value) if value else _paths.SAMPLE_DIR
        if str(folder) in seen:
            continue
        seen.add(str(folder))
        if not folder.is_dir():
            raise RunError(f"data_dir: {folder}: folder not found")
        files = find_table_files(folder)
        if not files:
            raise RunError(
                f"data_dir: {folder}: no table files (expected e.g. opportunities.csv, leads.xlsx)"
            )
        empty = []
        for table, path in files.items():
            try:
                df = read_table(path)
            except Exception as exc:  # any reader failure is the file's problem
                msg = mask_text(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
                raise RunError(f"{path}: cannot be read ({msg[:300]})") from None
            if len(df) == 0:
                empty.append(table)
        if empty and len(empty) == len(files):
            warnings_.append(f"data_dir: {folder}: every table is empty (no rows)")
        elif empty:
            warnings_.append(f"data_dir: {folder}: empty table(s) {sorted(empty)} (no rows)")
    return warnings_


def _mask_file(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    masked = mask_text(text)
    if masked != text:
        path.write_text(masked, encoding="utf-8")


def _report_warnings(nb_dir: Path) -> list[str]:
    """Warnings a notebook saved as ``tables/run_warnings.csv`` (e.g. as_of vs the data)."""
    p = nb_dir / "tables" / "run_warnings.csv"
    if not p.is_file():
        return []
    import pandas as pd

    df = pd.read_csv(p, dtype=str, keep_default_na=False)
    return [str(w) for w in df.get("warning", [])]


def run(
    params: str | Path | None = None,
    *,
    notebooks: Sequence[str] | None = None,
    output: str | Path | None = None,
    run_date: str | None = None,
    data: str | Path | None = None,
    as_of: str | None = None,
    column_map: str | Path | None = None,
    dry_run: bool = False,
    kernel: str = "python3",
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> RunResult:
    """Run notebooks with a params file into ``<output>/<run-date>/<notebook>/``.

    Parameters
    ----------
    params
        YAML params file (see ``params/default.yaml``); ``None`` runs every notebook with
        its own defaults.
    notebooks
        Names to run (``["00-data-overview"]``), overriding the file's ``notebooks``. A run
        narrowed this way is a subset: its report is kept but ``latest`` does not move.
    output
        Report root (default ``reports/`` in the project).
    run_date
        Folder name, ``YYYY-MM-DD`` only; default today's date (UTC). A second run on one
        day gets ``_2``.
    data, as_of
        Override ``data_dir`` and ``as_of`` for every notebook that declares them (also
        over per-notebook values).
    column_map
        YAML ``{table: {header: canonical}}``, given to the notebooks as ``columns``.
    dry_run
        Check everything that can be checked without computing (params, dates, output
        folder, inputs readable, notebooks present) and print the plan; execute nothing.

    Returns
    -------
    RunResult
        ``status`` is ``"ok"``, ``"failed"`` or ``"dry-run"``.

    Raises
    ------
    ParamsError, RunError
        Expected failures, as one line (the CLI prints it and exits 2).
    """
    import papermill as pm

    from .engine.connect import absolute_url, is_url

    spec = load_params(params)
    if data is not None:
        spec["parameters"]["data_dir"] = str(data)
    if as_of is not None:
        spec["parameters"]["as_of"] = parse_iso_date(as_of, "--as-of")
    if column_map is not None:
        spec["columns"] = _load_column_map(column_map)
    for values in spec["notebook_parameters"].values():  # command line wins
        for key, value in (("data_dir", data), ("as_of", as_of)):
            if value is not None and key in values:
                values[key] = spec["parameters"][key]
    runs = plan_run(spec, notebooks)
    for r in runs:  # relative paths are relative to where the command was started
        for key, value in list(r.parameters.items()):
            if key.endswith(PATH_SUFFIXES) and isinstance(value, str) and value:
                r.parameters[key] = (
                    absolute_url(value)
                    if is_url(value)
                    else str(Path(value).expanduser().resolve())
                )
    day = check_run_date(run_date) if run_date else dt.datetime.now(dt.UTC).date().isoformat()
    output = Path(output).resolve() if output else _paths.PROJECT_ROOT / "reports"
    _inside(output, output / day, "--run-date")
    full = True  # latest moves only when every notebook of the params file ran
    if notebooks:
        full = {r.name for r in runs} >= {r.name for r in plan_run(spec, None)}
    log(f"run {day}: {len(runs)} notebook(s) -> {output}")
    for r in runs:
        log(
            f"  {r.name}: {mask_text(json.dumps(r.parameters, ensure_ascii=False, sort_keys=True))}"
        )
    if dry_run:
        if output.exists():
            if not output.is_dir() or not os.access(output, os.W_OK | os.X_OK):
                raise RunError(f"{output}: output folder is not writable")
        else:
            parent = next((p for p in output.parents if p.exists()), None)
            if parent is None or not os.access(parent, os.W_OK | os.X_OK):
                raise RunError(f"{output}: output folder cannot be created (no write access)")
        for w in _check_inputs(runs):
            log(f"warning: {w}")
        log("dry run: params, dates, folders and inputs checked; nothing executed")
        return RunResult(None, "dry-run", runs)

    _check_output(output)
    with _run_lock(output):
        run_warnings = _check_inputs(runs)
        for w in run_warnings:
            log(f"warning: {w}")
        try:
            staging = Path(tempfile.mkdtemp(prefix=".run-", dir=output))
        except OSError as exc:
            raise RunError(f"{output}: output folder is not writable ({exc.strerror})") from None
        staging.chmod(0o755)
        started = _execute(pm, runs, staging, kernel, progress, log)
        for r in runs:
            run_warnings += _report_warnings(staging / r.name)
        status = "ok" if all(r.status == "ok" for r in runs) else "failed"
        manifest = {
            "run_date": day,
            "status": status,
            "complete": full,
            "warnings": run_warnings,
            "started_at": started,
            "finished_at": _now(),
            "params_file": str(Path(params).resolve()) if params else None,
            "params_sha256": _sha256(Path(params)) if params else None,
            "command": " ".join(sys.argv),
            "inputs": _input_files(runs),
            "versions": _versions(),
            "git": _git_commit(),
            "notebooks": [r.__dict__ for r in runs],
        }
        text = json.dumps(manifest, indent=2, ensure_ascii=False, default=str) + "\n"
        (staging / "manifest.json").write_text(mask_text(text), encoding="utf-8")
        if status == "ok":  # the summary page: index.html, summary.json, summary.xlsx
            from .report.summary import write_summary

            try:
                write_summary(staging, log=log)
            except Exception as exc:  # the notebooks ran: say so, keep the report
                log(mask_text(f"warning: summary page not written: {type(exc).__name__}: {exc}"))
        final = _inside(
            output, _unique(output / (day if status == "ok" else f"{day}-failed")), "run"
        )
        os.rename(staging, final)  # same file system; never nests into an existing folder
        if status == "ok" and full:
            _point_latest(output, final)
            log(f"report: {final}")
        elif status == "ok":
            log(f"report: {final} (a subset of the notebooks: 'latest' unchanged)")
        else:
            log(f"run failed; executed notebooks kept in {final}; 'latest' unchanged")
    for w in run_warnings:
        log(f"warning: {w}")
    return RunResult(final, status, runs)


def _load_column_map(path: str | Path) -> dict[str, dict[str, str]]:
    """A ``--map`` file: ``{table: {header in the file: canonical name}}``."""
    try:  # the header-mapping work provides the full loader (fuzzy checks, aliases)
        from . import load_column_map  # type: ignore[attr-defined]
    except ImportError:
        load_column_map = None
    if load_column_map is not None:
        try:
            return load_column_map(path)
        except (ValueError, KeyError, FileNotFoundError) as exc:
            raise ParamsError(f"--map: {exc}") from None
    spec = read_yaml_mapping(path)
    spec = spec.get("columns", spec)
    for table, mapping in spec.items():
        if not isinstance(mapping, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()
        ):
            raise ParamsError(f"{path}: {table}: expected a mapping of header: canonical name")
    return spec


def _execute(pm, runs, staging: Path, kernel: str, progress: bool, log) -> str:
    available = discover_notebooks()
    started = _now()
    for i, r in enumerate(runs, 1):
        nb_dir = staging / r.name
        nb_dir.mkdir()
        values = dict(r.parameters)
        if "output_dir" in notebook_parameters(available[r.name]):
            values["output_dir"] = str(nb_dir)
        log(f"[{i}/{len(runs)}] {r.name}")
        r.started_at = _now()
        t0 = dt.datetime.now()
        executed = nb_dir / f"{r.name}.ipynb"
        try:
            with kernel_environment():
                pm.execute_notebook(
                    str(available[r.name]),
                    str(executed),
                    parameters=values,
                    kernel_name=kernel,
                    cwd=str(_paths.NOTEBOOKS_DIR),
                    progress_bar=progress,
                    log_output=False,
                )
            r.status = "ok"
        except pm.PapermillExecutionError as exc:
            r.status = "failed"
            r.error = {
                "cell_index": exc.cell_index,
                "execution_count": exc.exec_count,
                "ename": exc.ename,
                "evalue": mask_text(str(exc.evalue).splitlines()[0][:500]) if exc.evalue else "",
            }
        except Exception as exc:  # kernel died, notebook unreadable, ...
            r.status = "failed"
            r.error = {
                "cell_index": None,
                "execution_count": None,
                "ename": type(exc).__name__,
                "evalue": mask_text((str(exc).splitlines() or [""])[0][:500]),
            }
        r.seconds = round((dt.datetime.now() - t0).total_seconds(), 1)
        r.finished_at = _now()
        r.parameters = values
        if executed.exists():
            _mask_file(executed)
            _mask_file(_export_html(executed))
        if r.error:
            cell = r.error["execution_count"]
            where = f"cell [{cell}]" if cell is not None else "before any cell"
            log(f"FAILED {r.name}: {where}: {r.error['ename']}: {r.error['evalue']}")
        else:
            log(f"  ok in {r.seconds:.1f}s")
    return started
