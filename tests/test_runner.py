"""The report runner: params checking, report folders, failure handling, reproducibility."""

import json
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
    assert (tmp_path / "r" / "2026-01-02-failed").is_dir() and not (tmp_path / "r" / "latest").exists()
