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
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import yaml

from . import _paths

__all__ = [
    "ParamsError",
    "RunResult",
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


class ParamsError(ValueError):
    """The params file does not fit the notebooks (unknown name, wrong type, bad file)."""


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
    """Read a params YAML: ``notebooks``, ``parameters``, ``notebook_parameters``."""
    if path is None:
        return {"notebooks": "all", "parameters": {}, "notebook_parameters": {}}
    path = Path(path)
    if not path.is_file():
        raise ParamsError(f"params file not found: {path}")
    try:
        spec = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ParamsError(f"{path}: not valid YAML ({exc})") from exc
    if not isinstance(spec, dict):
        raise ParamsError(f"{path}: expected a mapping at the top level")
    unknown = set(spec) - {"notebooks", "parameters", "notebook_parameters", "description"}
    if unknown:
        raise ParamsError(
            f"{path}: unknown top-level key(s) {sorted(unknown)}; expected "
            "notebooks, parameters, notebook_parameters, description"
        )
    spec.setdefault("notebooks", "all")
    spec["parameters"] = spec.get("parameters") or {}
    spec["notebook_parameters"] = spec.get("notebook_parameters") or {}
    return spec


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
    for nb in chosen:
        values = {k: v for k, v in common.items() if k in declared[nb]}
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
    link = output / "latest"
    tmp = output / ".latest.tmp"
    try:
        if tmp.is_symlink() or tmp.exists():
            tmp.unlink()
        tmp.symlink_to(target.name, target_is_directory=True)
        os.replace(tmp, link)
    except OSError:  # file systems without symlinks: a text pointer instead
        (output / "LATEST").write_text(target.name + "\n", encoding="utf-8")


def run(
    params: str | Path | None = None,
    *,
    notebooks: Sequence[str] | None = None,
    output: str | Path | None = None,
    run_date: str | None = None,
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
        Names to run (``["00-data-overview"]``), overriding the file's ``notebooks``.
    output
        Report root (default ``reports/`` in the project).
    run_date
        Folder name; default today's date (UTC). A second run on one day gets ``_2``.
    dry_run
        Check parameters and print the plan; execute nothing.

    Returns
    -------
    RunResult
        ``status`` is ``"ok"``, ``"failed"`` or ``"dry-run"``.
    """
    import papermill as pm

    from .engine.connect import absolute_url, is_url

    spec = load_params(params)
    runs = plan_run(spec, notebooks)
    for r in runs:  # relative paths are relative to where the command was started
        for key, value in list(r.parameters.items()):
            if key.endswith(PATH_SUFFIXES) and isinstance(value, str) and value:
                r.parameters[key] = (
                    absolute_url(value)
                    if is_url(value)
                    else str(Path(value).expanduser().resolve())
                )
    output = Path(output).resolve() if output else _paths.PROJECT_ROOT / "reports"
    day = run_date or dt.datetime.now(dt.UTC).date().isoformat()
    log(f"run {day}: {len(runs)} notebook(s) -> {output}")
    for r in runs:
        log(f"  {r.name}: {json.dumps(r.parameters, ensure_ascii=False, sort_keys=True)}")
    if dry_run:
        return RunResult(None, "dry-run", runs)

    output.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".run-", dir=output))
    staging.chmod(0o755)
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
                "evalue": str(exc.evalue).splitlines()[0][:500] if exc.evalue else "",
            }
        except Exception as exc:  # kernel died, notebook unreadable, ...
            r.status = "failed"
            r.error = {
                "cell_index": None,
                "execution_count": None,
                "ename": type(exc).__name__,
                "evalue": str(exc).splitlines()[0][:500],
            }
        r.seconds = round((dt.datetime.now() - t0).total_seconds(), 1)
        r.finished_at = _now()
        r.parameters = values
        if executed.exists():
            _export_html(executed)
        if r.error:
            cell = r.error["execution_count"]
            where = f"cell [{cell}]" if cell is not None else "before any cell"
            log(f"FAILED {r.name}: {where}: {r.error['ename']}: {r.error['evalue']}")
        else:
            log(f"  ok in {r.seconds:.1f}s")

    status = "ok" if all(r.status == "ok" for r in runs) else "failed"
    manifest = {
        "run_date": day,
        "status": status,
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
    (staging / "manifest.json").write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8"
    )
    final = _unique(output / (day if status == "ok" else f"{day}-failed"))
    shutil.move(str(staging), str(final))
    if status == "ok":
        _point_latest(output, final)
        log(f"report: {final}")
    else:
        log(f"run failed; executed notebooks kept in {final}; 'latest' unchanged")
    return RunResult(final, status, runs)
