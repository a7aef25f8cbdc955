"""The report runner: params checking, report folders, failure handling, reproducibility."""

import json
import re
import shutil

import pytest
import yaml

from salesanalytics import _paths
from salesanalytics.cli import main
from salesanalytics.runner import ParamsError, load_params, plan_run, run

NB = "00-data-overview"


def _params(tmp_path, **parameters):
    p = tmp_path / "params.yaml"
    p.write_text(yaml.safe_dump({"notebooks": [NB], "parameters": parameters}))
    return p


def test_default_params_fit_every_notebook():
    runs = plan_run(load_params(_paths.PARAMS_DIR / "default.yaml"))
    assert [r.name for r in runs][0] == NB
    assert runs[0].parameters["as_of"] == "2026-06-30"


@pytest.mark.parametrize("name", ["default", "weekly", "quarterly", "scoring"])
def test_every_shipped_params_file_plans(name):
    spec = load_params(_paths.PARAMS_DIR / f"{name}.yaml")
    runs = {r.name: r for r in plan_run(spec)}
    assert runs
    # a subset of the notebooks with the same file: names declared elsewhere are no error
    only = plan_run(spec, ["04-stage-probabilities"])
    assert [r.name for r in only] == ["04-stage-probabilities"]
    assert "as_of" not in only[0].parameters
    if name == "default":
        assert runs["07-targets-performance"].parameters["as_of"] == "2026-05-15"
        assert runs["06-forecast"].parameters["as_of"] == "2026-06-30"
    if name == "quarterly":
        assert runs["04-stage-probabilities"].parameters["rolling"] is True
        assert runs["02-funnel-bottlenecks"].parameters["period"] == "Q"


@pytest.mark.parametrize(
    "params,message",
    [
        ({"nonsense": 1}, "'nonsense' is declared by none"),
        ({"as_of": 20260630}, "'as_of' should be str, got int"),
        ({"lang": True}, "'lang' should be str, got bool"),
    ],
)
def test_params_are_checked_before_anything_runs(tmp_path, params, message):
    with pytest.raises(ParamsError, match=message):
        run(_params(tmp_path, **params), output=tmp_path / "reports")
    assert not (tmp_path / "reports").exists()


def test_unknown_notebook_and_bad_file(tmp_path):
    with pytest.raises(ParamsError, match="unknown notebook"):
        plan_run({"notebooks": ["99-nope"], "parameters": {}})
    bad = tmp_path / "bad.yaml"
    bad.write_text("parameters: [1, 2\n")
    with pytest.raises(ParamsError, match="not valid YAML"):
        load_params(bad)
    assert main(["run", "--params", str(bad), "--dry-run"]) == 2


def test_dry_run_executes_nothing(tmp_path, capsys):
    assert (
        main(
            [
                "run",
                "--params",
                str(_params(tmp_path)),
                "--dry-run",
                "--output",
                str(tmp_path / "r"),
            ]
        )
        == 0
    )
    assert "00-data-overview" in capsys.readouterr().out
    assert not (tmp_path / "r").exists()


@pytest.mark.notebooks
def test_run_twice_identical_tables_then_broken_input_fails_cleanly(tmp_path):
    out = tmp_path / "reports"
    p = _params(tmp_path)
    first = run(p, output=out, run_date="2026-07-06", progress=False, log=lambda _: None)
    assert first.ok and first.folder == out / "2026-07-06"
    nb_dir = first.folder / NB
    assert (nb_dir / f"{NB}.ipynb").is_file() and (nb_dir / f"{NB}.html").is_file()
    html = (nb_dir / f"{NB}.html").read_text()
    assert "Row accounting" in html and "<table" in html and "import salesanalytics" not in html
    assert (nb_dir / "figures" / "stage_distribution.png").is_file()
    manifest = json.loads((first.folder / "manifest.json").read_text())
    assert manifest["status"] == "ok" and manifest["notebooks"][0]["status"] == "ok"
    assert any(k.endswith("opportunities.csv") for k in manifest["inputs"])
    assert manifest["versions"]["pandas"] and manifest["versions"]["salesanalytics"]
    assert (out / "latest").resolve() == first.folder.resolve()

    second = run(p, output=out, run_date="2026-07-06", progress=False, log=lambda _: None)
    assert second.folder == out / "2026-07-06_2"
    tables = sorted((nb_dir / "tables").glob("*.csv"))
    assert len(tables) >= 5
    for t in tables:
        assert t.read_bytes() == (second.folder / NB / "tables" / t.name).read_bytes(), t.name

    # a corrupted input: the run fails loudly and the last good report stays current
    data = tmp_path / "data"
    shutil.copytree(_paths.SAMPLE_DIR, data)
    (data / "opportunities.csv").write_bytes(b"\x00\x01garbage;;\nno,header\n")
    messages = []
    bad = run(
        _params(tmp_path, data_dir=str(data)),
        output=out,
        run_date="2026-07-07",
        progress=False,
        log=messages.append,
    )
    assert bad.status == "failed" and bad.folder == out / "2026-07-07-failed"
    failure = [m for m in messages if m.startswith("FAILED")]
    assert len(failure) == 1 and "00-data-overview: cell [" in failure[0]
    assert "DataContractError" in failure[0] and "opportunities" in failure[0]
    assert (bad.folder / NB / f"{NB}.ipynb").is_file()  # executed copy with the error kept
    assert json.loads((bad.folder / "manifest.json").read_text())["status"] == "failed"
    assert (out / "latest").resolve() == second.folder.resolve()
    assert sorted(t.read_bytes() for t in (nb_dir / "tables").glob("*.csv")) == sorted(
        t.read_bytes() for t in tables
    )


def test_cli_run_exit_code_on_failure(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "opportunities.csv").write_text("opportunity_id,stage\n1,won\n")
    code = main(
        [
            "run",
            "--params",
            str(_params(tmp_path, data_dir=str(data))),
            "--quiet",
            "--output",
            str(tmp_path / "r"),
            "--run-date",
            "2026-01-02",
        ]
    )
    assert code == 1
    assert (tmp_path / "r" / "2026-01-02-failed").is_dir() and not (
        tmp_path / "r" / "latest"
    ).exists()


# ---------------------------------------------------------------- issue 12: runner hardening


@pytest.mark.parametrize("day", ["../../x", "2026-07-06/../../x", "d", "2026-13-01", "06/07/2026"])
def test_run_date_is_an_iso_date_only(tmp_path, capsys, day):
    out = tmp_path / "deep" / "reports"
    with pytest.raises(ParamsError, match="--run-date"):
        run(_params(tmp_path), output=out, run_date=day, log=lambda _: None)
    code = main(
        ["run", "--params", str(_params(tmp_path)), "--output", str(out), "--run-date", day]
    )
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and err.startswith("error: --run-date")
    assert not (tmp_path / "x").exists() and not out.exists()


@pytest.mark.parametrize(
    "value,message",
    [("01/06/2026", "--as-of: '01/06/2026' is not an ISO date"), ("2026-02-30", "calendar")],
)
def test_as_of_must_be_unambiguous(tmp_path, capsys, value, message):
    code = main(["run", "--params", str(_params(tmp_path)), "--as-of", value, "--dry-run"])
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1
    p = _params(tmp_path, as_of="01/06/2026")
    assert main(["run", "--params", str(p), "--dry-run"]) == 2
    assert "parameters.as_of: '01/06/2026' is not an ISO date" in capsys.readouterr().err


def test_bad_params_shapes_are_one_line_exit_2(tmp_path, capsys):
    p = tmp_path / "p.yaml"
    for text, needle in [
        ("parameters: [1, 2]\n", "parameters: Input should be a valid dictionary"),
        ("parameters: {lang: fr}\n", "parameters.lang: 'fr' is not allowed; allowed: en, zh"),
        ("- a\n- b\n", "expected a mapping"),
        ("notebooks: [00-data-overview]\nparameters: {nope: 1}\n", "'nope' is declared by none"),
    ]:
        p.write_text(text)
        assert main(["run", "--params", str(p), "--dry-run"]) == 2
        err = capsys.readouterr().err
        assert needle in err and "Traceback" not in err, err


def test_dry_run_checks_folders_and_inputs_without_computing(tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    (data / "opportunities.xlsx").write_bytes(b"PK\x03\x04 truncated zip")
    args = ["run", "--params", str(_params(tmp_path)), "--dry-run", "--output", str(tmp_path / "r")]
    assert main([*args, "--data", str(data)]) == 2
    err = capsys.readouterr().err
    assert "opportunities.xlsx: cannot be read" in err and err.count("\n") == 1
    assert main([*args, "--data", str(tmp_path / "nowhere")]) == 2
    assert "folder not found" in capsys.readouterr().err
    (data / "opportunities.xlsx").unlink()
    (data / "opportunities.csv").write_text("opportunity_id,owner,created_at,stage\n")
    assert main([*args, "--data", str(data)]) == 0
    assert "warning: data_dir:" in capsys.readouterr().out  # an empty export is not OK
    blocker = tmp_path / "a-file"  # works as root too, unlike a read-only folder
    blocker.write_text("x")
    code = main(["run", "--params", str(_params(tmp_path)), "--output", str(blocker / "r")])
    err = capsys.readouterr().err
    assert code == 2 and "cannot create the output folder" in err and err.count("\n") == 1
    code = main(["run", "--params", str(_params(tmp_path)), "--dry-run", "--output", str(blocker)])
    assert code == 2 and "not writable" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_truncated_xlsx_input_is_one_line_before_any_notebook(tmp_path, capsys):
    data = tmp_path / "data"
    shutil.copytree(_paths.SAMPLE_DIR, data)
    (data / "targets.csv").unlink()
    (data / "targets.xlsx").write_bytes(b"PK\x03\x04\x14\x00" + b"\x00" * 50)
    code = main(
        [
            "run",
            "--params",
            str(_params(tmp_path)),
            "--data",
            str(data),
            "--quiet",
            "--output",
            str(tmp_path / "r"),
            "--run-date",
            "2026-07-06",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and "targets.xlsx: cannot be read" in err and err.count("\n") == 1
    assert not (tmp_path / "r" / "2026-07-06").exists()


def test_concurrent_runs_are_locked(tmp_path):
    from salesanalytics.runner import RunError, _run_lock

    out = tmp_path / "r"
    out.mkdir()
    with _run_lock(out):
        with pytest.raises(RunError, match="another run is writing to this folder"):
            run(_params(tmp_path), output=out, run_date="2026-07-06", log=lambda _: None)
    assert not (out / "2026-07-06").exists()


def test_latest_is_replaced_atomically(tmp_path):
    from salesanalytics.runner import _point_latest

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    _point_latest(tmp_path, tmp_path / "a")
    _point_latest(tmp_path, tmp_path / "b")
    assert (tmp_path / "latest").resolve() == (tmp_path / "b").resolve()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b", "latest"]


def test_mask_text_hides_phones_and_emails():
    from salesanalytics.runner import mask_text

    text = mask_text("bad row: 13912345678, +86 139 1234 5678, wang.fang@example.cn; 2026-06-30")
    assert "13912345678" not in text and "wang.fang@example.cn" not in text
    assert "+86 139 1234 5678" not in text and "2026-06-30" in text


def test_papermill_with_a_runner_params_file_refuses_with_the_reason(tmp_path):
    import papermill as pm

    spec = yaml.safe_load((_paths.PARAMS_DIR / "default.yaml").read_text())
    with pytest.raises(pm.PapermillExecutionError) as err:
        pm.execute_notebook(
            str(_paths.NOTEBOOKS_DIR / f"{NB}.ipynb"),
            str(tmp_path / "out.ipynb"),
            parameters=spec,
            cwd=str(_paths.NOTEBOOKS_DIR),
            progress_bar=False,
        )
    assert err.value.ename == "ParamsError"
    assert "runner format" in err.value.evalue and "salesanalytics run --params" in err.value.evalue


def test_python_m_salesanalytics(tmp_path):
    import subprocess
    import sys

    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "salesanalytics",
            "run",
            "--params",
            str(_params(tmp_path)),
            "--run-date",
            "../x",
            "--dry-run",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert res.returncode == 2 and res.stderr.startswith("error: --run-date")
    assert "Traceback" not in res.stderr


@pytest.mark.notebooks
def test_subset_run_keeps_latest_and_reports_a_future_as_of(tmp_path):
    from small_sample import write_small_sample

    data = write_small_sample(tmp_path / "data", every=40)
    out = tmp_path / "reports"
    messages = []
    res = run(
        _paths.PARAMS_DIR / "default.yaml",
        notebooks=[NB],
        output=out,
        run_date="2026-07-06",
        data=data,
        as_of="2027-01-31",
        progress=False,
        log=messages.append,
    )
    assert res.ok and res.folder == out / "2026-07-06"
    assert not (out / "latest").exists()  # a subset of the params file's notebooks
    assert res.notebooks[0].parameters["data_dir"] == str(data)
    manifest = json.loads((res.folder / "manifest.json").read_text())
    assert manifest["complete"] is False
    assert any("as_of 2027-01-31 is" in w and "after the last" in w for w in manifest["warnings"])
    html = (res.folder / NB / f"{NB}.html").read_text()
    assert "WARNING: as_of 2027-01-31" in html
    assert any(m.startswith("warning: as_of 2027-01-31") for m in messages)
    assert not re.search(r"(?<!\d)1[3-9]\d{9}(?!\d)", html + json.dumps(manifest))


def test_map_file_reaches_the_notebooks_as_columns(tmp_path, capsys):
    m = tmp_path / "map.yaml"
    m.write_text("opportunities:\n  客户编号: opportunity_id\n", encoding="utf-8")
    res = run(_params(tmp_path), column_map=m, dry_run=True, log=lambda _: None)
    assert res.notebooks[0].parameters["columns"] == {
        "opportunities": {"客户编号": "opportunity_id"}
    }
    m.write_text("opportunities: [a, b]\n")
    assert main(["run", "--params", str(_params(tmp_path)), "--map", str(m), "--dry-run"]) == 2
    assert "opportunities" in capsys.readouterr().err
