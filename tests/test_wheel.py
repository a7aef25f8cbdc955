"""The wheel installed alone carries its data and runs the sample report (issue 15).

How the clean environment is made offline (no package index is needed after the build):

1. The wheel is built from this checkout with ``pip wheel --no-deps`` (hatchling backend; with
   ``--no-build-isolation`` when hatchling is importable here, otherwise pip fetches hatchling
   from the configured index or find-links, as any build does).
2. A new venv is created with ``system_site_packages=False`` and without pip.
3. Its dependencies come from the environment running this test: a folder of symlinks to every
   entry of the current interpreter's site-packages EXCEPT salesanalytics itself (the editable
   install: its ``.pth`` and finder, its dist-info, and hatchling's editable copy of the package
   data). A ``.pth`` file in the new venv puts that folder on ``sys.path``; ``.pth`` files inside
   the folder are not processed, so the editable finder never loads. The dependencies' data
   files under ``<prefix>/share/jupyter`` (nbconvert templates) are linked the same way.
4. ``pip install --no-deps --no-index`` installs the wheel into the new venv.
5. Everything then runs from an empty temporary folder with ``PYTHONPATH`` removed, so no
   checkout is on the path; the test asserts the package and its data resolve inside the venv
   before running ``salesanalytics run`` on the bundled sample.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# repository folder -> folder inside the wheel (pyproject's force-include)
BUNDLED = {
    "params": "salesanalytics/_data/params",
    "data/sample": "salesanalytics/_data/sample",
    "notebooks": "salesanalytics/_data/notebooks",
}
NOTEBOOK = "00-data-overview"

pytestmark = pytest.mark.wheel


def _run(cmd: list, **kw) -> subprocess.CompletedProcess:
    res = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    assert res.returncode == 0, f"{cmd} failed ({res.returncode}):\n{res.stdout}\n{res.stderr}"
    return res


def _source_files() -> dict[str, Path]:
    """Every package-data file of the checkout, by its path inside the wheel."""
    out = {}
    for src, dest in BUNDLED.items():
        for p in sorted((ROOT / src).rglob("*")):
            rel = p.relative_to(ROOT / src)
            hidden = any(part.startswith(".") or part == "__pycache__" for part in rel.parts)
            if p.is_file() and not hidden:
                out[f"{dest}/{rel.as_posix()}"] = p
    return out


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    isolation = [] if importlib.util.find_spec("hatchling") is None else ["--no-build-isolation"]
    _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", *isolation, "-w", dist, ROOT],
        cwd=ROOT,
    )
    (whl,) = dist.glob("salesanalytics-*.whl")
    return whl


@pytest.fixture(scope="module")
def clean_venv(tmp_path_factory, wheel) -> Path:
    base = tmp_path_factory.mktemp("venv")
    env_dir = base / "venv"
    venv.EnvBuilder(system_site_packages=False, with_pip=False, symlinks=True).create(env_dir)
    python = env_dir / "bin" / "python"
    site = Path(
        _run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]
        ).stdout.strip()
    )
    deps = base / "deps"
    deps.mkdir()
    here = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    for folder in map(Path, sorted(here)):
        for entry in folder.iterdir():
            name = entry.name.lower()
            if name.startswith(("salesanalytics", "_editable_impl_salesanalytics", "__editable__")):
                continue
            if not (deps / entry.name).exists():
                (deps / entry.name).symlink_to(entry)
    (site / "_shared_deps.pth").write_text(f"{deps}\n", encoding="utf-8")
    # data files the dependencies install beside site-packages (nbconvert's HTML templates);
    # kernels are left out: the new venv's own interpreter runs the notebooks.
    shared = Path(sys.prefix) / "share" / "jupyter"
    if shared.is_dir():
        (env_dir / "share" / "jupyter").mkdir(parents=True)
        for entry in shared.iterdir():
            if entry.name != "kernels":
                (env_dir / "share" / "jupyter" / entry.name).symlink_to(entry)
    _run([python, "-m", "pip", "install", "-q", "--no-deps", "--no-index", wheel], cwd=base)
    return env_dir


def _clean_env() -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["MPLBACKEND"] = "Agg"
    return env


def test_wheel_carries_every_package_data_file(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = _source_files()
    assert len(expected) > 30  # sample tables, stage presets, scorecards, params, notebooks
    missing = sorted(set(expected) - names)
    assert missing == []
    for must in (
        "salesanalytics/_data/sample/opportunities.csv",
        "salesanalytics/_data/params/stages/default.yaml",
        "salesanalytics/_data/params/scorecards/lead_sabc.yaml",
        "salesanalytics/_data/params/default.yaml",
        f"salesanalytics/_data/notebooks/{NOTEBOOK}.ipynb",
    ):
        assert must in names
    with zipfile.ZipFile(wheel) as z:  # byte-identical copies
        for inside, src in expected.items():
            assert z.read(inside) == src.read_bytes(), inside
        meta = z.read("salesanalytics-0.1.0.dist-info/METADATA").decode()
    assert "Provides-Extra: report" in meta and "Provides-Extra: sql" in meta
    runtime = [
        ln for ln in meta.splitlines() if ln.startswith("Requires-Dist:") and "extra" not in ln
    ]
    assert not any(
        p in " ".join(runtime).lower() for p in ("papermill", "jupyterlab", "sqlalchemy")
    )


def test_installed_wheel_runs_the_sample_report(clean_venv, tmp_path):
    python = clean_venv / "bin" / "python"
    env = _clean_env()
    probe = _run(
        [
            python,
            "-c",
            "import json, salesanalytics as sa, salesanalytics._paths as p; "
            "ds = sa.read_dataset(); sc = sa.Scorecard.from_yaml('lead_sabc'); "
            "print(json.dumps({'file': sa.__file__, 'sample': str(p.SAMPLE_DIR), "
            "'installed': p.INSTALLED_DATA, 'stages': sa.load_stages('hubspot').name, "
            "'opps': len(ds.opportunities), 'card': sc.name, "
            "'notebooks': sorted(x.name for x in p.NOTEBOOKS_DIR.glob('*.ipynb'))}))",
        ],
        cwd=tmp_path,
        env=env,
    )
    info = json.loads(probe.stdout.strip().splitlines()[-1])
    assert info["installed"] is True
    assert Path(info["file"]).is_relative_to(clean_venv)
    assert Path(info["sample"]).is_relative_to(clean_venv)
    assert info["opps"] > 100 and info["card"] and info["stages"]
    assert f"{NOTEBOOK}.ipynb" in info["notebooks"] and len(info["notebooks"]) >= 8

    out = tmp_path / "reports"
    _run(
        [
            clean_venv / "bin" / "salesanalytics",
            "run",
            "--notebooks",
            NOTEBOOK,
            "--output",
            out,
            "--run-date",
            "2026-01-01",
            "--quiet",
        ],
        cwd=tmp_path,
        env=env,
        timeout=600,
    )
    manifest = json.loads((out / "2026-01-01" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["status"] == "ok"
    assert [n["status"] for n in manifest["notebooks"]] == ["ok"]
    assert all(Path(f).is_relative_to(clean_venv) for f in manifest["inputs"])
    assert (out / "2026-01-01" / NOTEBOOK / f"{NOTEBOOK}.html").stat().st_size > 10_000
    assert not (tmp_path / "salesanalytics").exists()  # nothing from a checkout next to us


def test_run_without_the_report_extra_is_one_clear_line(monkeypatch, capsys):
    import importlib.util as iu

    from salesanalytics import cli

    real = iu.find_spec
    monkeypatch.setattr(iu, "find_spec", lambda n, *a: None if n == "papermill" else real(n, *a))
    assert cli.main(["run", "--dry-run"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "error: `salesanalytics run` needs the report extra (papermill is not installed): "
        "pip install 'salesanalytics[report]'"
    ]


def test_sql_source_without_the_sql_extra_is_one_clear_line(monkeypatch):
    import builtins

    from salesanalytics.io import read_sql

    real = builtins.__import__

    def no_sqlalchemy(name, *args, **kw):
        if name == "sqlalchemy":
            raise ImportError("No module named 'sqlalchemy'")
        return real(name, *args, **kw)

    monkeypatch.setattr(builtins, "__import__", no_sqlalchemy)
    with pytest.raises(ValueError, match=r"^SQL sources need the sql extra \(SQLAlchemy\)"):
        read_sql("select 1", "sqlite://")
