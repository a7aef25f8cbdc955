"""Engine layer (issue 16): pandas, DuckDB and Spark give the same tables; the engine reads
nothing after as_of; in-engine cleaning; URLs and credentials; the warehouse report run."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

import salesanalytics as sa
from salesanalytics.engine import choose_engine, connect, is_engine, resolve_url
from salesanalytics.engine.generate import generate_duckdb
from salesanalytics.sample import generate_pipeline

ROOT = Path(__file__).resolve().parents[1]
AS_OF = "2026-06-30"
FIT_AS_OF = "2025-12-31"
TABLES = ("opportunities", "stage_history", "leads")


def same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """Same rows, columns and values; numbers to 1e-9 (dtypes may differ by engine)."""
    assert list(a.columns) == list(b.columns)
    assert len(a) == len(b)
    for c in a.columns:
        x, y = a[c].reset_index(drop=True), b[c].reset_index(drop=True)
        if pd.api.types.is_numeric_dtype(x) and not pd.api.types.is_bool_dtype(x):
            np.testing.assert_allclose(
                x.to_numpy(float), y.to_numpy(float), rtol=1e-9, atol=1e-12, err_msg=c
            )
        else:
            xs = x.astype(object).where(x.notna(), None).tolist()
            ys = y.astype(object).where(y.notna(), None).tolist()
            assert xs == ys, c


def tables_of(ds, *, leads: bool = True) -> dict[str, pd.DataFrame]:
    """Funnel (cohort, by channel, period), dwell, conversion, calibration counts."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = sa.StageProbabilityModel(by="channel", age_effect=False).fit(ds, as_of=FIT_AS_OF)
    out = {
        "funnel": sa.funnel_summary(ds, as_of=AS_OF),
        "funnel_channel": sa.funnel_summary(ds, as_of=AS_OF, by="channel"),
        "funnel_period": sa.funnel_summary(ds, as_of=AS_OF, mode="period", period="Q"),
        "dwell_channel": sa.stage_dwell(ds, as_of=AS_OF, by="channel"),
        "calibration": model.table_,
    }
    if leads:
        out["conversion_channel"] = sa.conversion_by(ds, as_of=AS_OF, by="channel")
    return out


@pytest.fixture(scope="module")
def sample_frames(sample_ds) -> dict[str, pd.DataFrame]:
    return {t: getattr(sample_ds, t) for t in TABLES}


@pytest.fixture(scope="module")
def sample_tables(sample_ds) -> dict[str, pd.DataFrame]:
    return tables_of(sample_ds)


def test_duckdb_equals_pandas_on_sample(sample_ds, sample_frames, sample_tables):
    eds = sa.read_dataset(sample_frames, engine="duckdb")
    assert is_engine(eds) and eds.engine == "duckdb"
    got = tables_of(eds)
    for name, table in sample_tables.items():
        same(table, got[name])
    # the fitted model predicts the same win probabilities, age effect included
    deals = sa.pipeline_as_of(sample_ds, FIT_AS_OF)
    p = sa.StageProbabilityModel(by=None).fit(sample_ds, as_of=FIT_AS_OF)
    q = sa.StageProbabilityModel(by=None).fit(eds, as_of=FIT_AS_OF)
    np.testing.assert_allclose(p.predict_proba(deals), q.predict_proba(deals), rtol=1e-9)


@pytest.fixture(scope="module")
def crm_150k():
    opps, hist = generate_pipeline(150_000, seed=7)
    ds = sa.Dataset(stages=sa.load_stages("default"), opportunities=opps, stage_history=hist)
    return ds, {"opportunities": opps, "stage_history": hist}


def equal_on_150k(crm_150k, engine) -> None:
    """Funnel, dwell and calibration counts by channel of the engine equal pandas'."""
    ds, frames = crm_150k
    eds = sa.read_dataset(frames, engine=engine)
    t = sa.stage_transitions(ds, as_of=AS_OF)
    te = sa.stage_transitions(eds, as_of=AS_OF)
    assert len(te) == len(t) > 400_000
    same(
        sa.funnel_summary(ds, transitions=t, by="channel"),
        sa.funnel_summary(eds, transitions=te, by="channel"),
    )
    same(
        sa.stage_dwell(ds, transitions=t, by="channel"),
        sa.stage_dwell(eds, transitions=te, by="channel"),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = sa.StageProbabilityModel(by="channel", age_effect=False)
        same(m.fit(ds, as_of=FIT_AS_OF).table_, m.fit(eds, as_of=FIT_AS_OF).table_)


def test_duckdb_equals_pandas_on_150k_generated_crm(crm_150k):
    equal_on_150k(crm_150k, "duckdb")


def test_engine_reads_nothing_after_as_of(sample_frames):
    """Rows after as_of, however absurd, change nothing: the cut is in the expression."""
    h = sample_frames["stage_history"]
    cut = h[h["entered_at"] <= "2025-12-31 23:59:59"]
    last = cut.sort_values("entered_at", kind="mergesort").drop_duplicates(
        "opportunity_id", keep="last"
    )
    first = last.loc[last["stage"] == "proposal", "opportunity_id"].iloc[0]  # open then
    future = pd.DataFrame(
        {
            "opportunity_id": [first, first],
            "stage": ["won", "prospect"],
            "entered_at": pd.to_datetime(["2026-01-05 10:00", "2026-01-06 10:00"]),
        }
    )
    base = sa.read_dataset({**sample_frames, "stage_history": cut}, engine="duckdb")
    more = sa.read_dataset(
        {**sample_frames, "stage_history": pd.concat([cut, future], ignore_index=True)},
        engine="duckdb",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = sa.StageProbabilityModel(by=None, age_effect=False).fit(base, as_of=FIT_AS_OF).table_
        b = sa.StageProbabilityModel(by=None, age_effect=False).fit(more, as_of=FIT_AS_OF).table_
    same(a, b)
    same(sa.funnel_summary(base, as_of=FIT_AS_OF), sa.funnel_summary(more, as_of=FIT_AS_OF))
    # and after as_of they do count: the deal's current visit closes as won
    t = sa.stage_transitions(more, as_of="2026-01-07").to_pandas()
    assert (t.loc[t["opportunity_id"] == first, "outcome"] == "won").sum() == 1


def test_in_engine_cleaning_counts_and_numbers(tmp_path):
    """Headers, stage aliases and placeholders cleaned in DuckDB; rejections counted."""
    path = tmp_path / "crm.duckdb"
    con = duckdb.connect(str(path))
    con.execute(
        """
        CREATE TABLE deals AS SELECT * FROM (VALUES
          ('O1', 'Ana', '2025-01-02', '成交', '1,000', 'web'),
          ('O2', 'Ben', '2025-01-03', 'Lost', 'N/A', 'web'),
          ('O3', 'Ana', '2025-01-04', 'proposal', '500', 'N/A'),
          ('O4', 'Ben', '2025-01-05', 'no such stage', '10', 'web'),
          ('O5', 'N/A', '2025-01-06', 'prospect', '10', 'web')
        ) v("Opportunity ID", "Owner", "Created Date", "Stage", "Amount", "Lead Source");
        CREATE TABLE hist AS SELECT * FROM (VALUES
          ('O1', 'prospect', '2025-01-02 09:00'), ('O1', 'proposal', '2025-01-10 09:00'),
          ('O1', '成交', '2025-01-20 09:00'),
          ('O2', 'prospect', '2025-01-03 09:00'), ('O2', 'closed lost', '2025-01-13 09:00'),
          ('O3', 'prospect', '2025-01-04 09:00'), ('O3', 'Proposal', '2025-01-08 09:00'),
          ('O9', 'prospect', '2025-01-04 09:00')
        ) v(opportunity_id, stage, entered_at);
        """
    )
    con.close()
    eds = sa.read_dataset(
        f"duckdb:///{path}", tables={"opportunities": "deals", "stage_history": "hist"}
    )
    q = eds.quality.set_index(["table", "rule", "column"])["rows"]
    assert q[("opportunities", "unknown_stage", "stage")] == 1
    assert q[("opportunities", "required", "owner")] == 1  # 'N/A' is a placeholder
    assert q[("stage_history", "unknown_opportunity", "opportunity_id")] == 1
    assert eds.rows() == {"opportunities": 3, "stage_history": 7}
    o = eds.opportunities.order_by("opportunity_id").to_pandas()
    assert o["stage"].tolist() == ["won", "lost", "proposal"]
    assert o["status"].tolist() == ["won", "lost", "open"]
    assert o["amount"].tolist()[0] == 1000.0 and pd.isna(o["amount"].iloc[1])
    assert pd.isna(o["channel"].iloc[2])
    f = sa.funnel_summary(eds, as_of="2025-01-31").set_index("stage")
    # prospect: 3 reached; O1 (won) and O3 (at proposal) advanced, O2 lost there
    assert f.loc["prospect", ["reached", "advanced", "lost_here"]].tolist() == [3, 2, 1]
    assert f.loc["proposal", ["reached", "advanced", "open_here", "won"]].tolist() == [2, 1, 1, 1]
    d = sa.stage_dwell(eds, as_of="2025-01-31").set_index("stage")
    assert d.loc["prospect", "mean_completed"] == pytest.approx((8 + 10 + 4) / 3)


def test_urls_and_credentials(monkeypatch):
    monkeypatch.setenv("SA_TEST_PW", "pa:ss")
    assert resolve_url("postgres://ana:${SA_TEST_PW}@db/crm") == "postgres://ana:pa:ss@db/crm"
    with pytest.raises(ValueError, match="literal password"):
        resolve_url("postgres://ana:hunter2@db/crm")
    monkeypatch.delenv("SA_MISSING_PW", raising=False)
    with pytest.raises(ValueError, match="SA_MISSING_PW"):
        resolve_url("postgres://ana:${SA_MISSING_PW}@db/crm")
    with pytest.raises(FileNotFoundError):
        connect("duckdb:////no/such/dir/crm.duckdb", read_only=True)
    with pytest.raises(TypeError):
        sa.read_dataset(None, engin="duckdb")


def test_engine_choice(monkeypatch, sample_frames):
    assert choose_engine(sample_frames) == "pandas"
    assert choose_engine(sample_frames, engine="duckdb") == "ibis"
    import importlib

    module = importlib.import_module("salesanalytics.engine.connect")
    monkeypatch.setattr(module, "ENGINE_THRESHOLD_BYTES", 1000)
    assert choose_engine(sample_frames) == "ibis"
    with pytest.raises(ValueError, match="engine must be"):
        choose_engine(sample_frames, engine="polars")
    assert choose_engine("duckdb:///crm.duckdb", engine="pandas") == "pandas"


def _java() -> str | None:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return str(Path(home) / "bin" / "java")
    return shutil.which("java")


@pytest.fixture(scope="module")
def spark():
    if _java() is None:
        reason = "Java is absent (no JAVA_HOME, no java on PATH): Spark tests skipped"
        print(reason)
        pytest.skip(reason)
    pytest.importorskip("pyspark", reason="pyspark is not installed: Spark tests skipped")
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("salesanalytics-tests")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def test_spark_equals_pandas_on_sample(spark, sample_frames, sample_tables):
    eds = sa.read_dataset(sample_frames, engine=connect(spark))
    assert eds.engine == "pyspark"
    got = tables_of(eds)
    for name, table in sample_tables.items():
        same(table, got[name])


def test_spark_equals_pandas_on_150k_generated_crm(spark, crm_150k):
    equal_on_150k(crm_150k, connect(spark))


def test_warehouse_report_runs_in_engine(tmp_path):
    """`salesanalytics run --params params/warehouse-example.yaml` against a DuckDB file.

    The report's kernel stays far below what loading the raw tables into pandas costs.
    """
    counts = generate_duckdb(tmp_path / "crm.duckdb", 120_000, seed=3)
    assert counts["stage_history"] > 500_000
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}
    cmd = [
        sys.executable,
        "-m",
        "salesanalytics.cli",
        "run",
        "--params",
        str(ROOT / "params" / "warehouse-example.yaml"),
        "--output",
        str(tmp_path / "reports"),
        "--run-date",
        "2026-07-01",
        "--quiet",
    ]
    # a fresh parent whose only children are the runner and its kernel: their peak memory
    # alone (this test process's own children, e.g. a Spark JVM, do not count)
    probe = (
        "import resource, subprocess, sys; "
        f"r = subprocess.run({cmd!r}); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(r.returncode)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    peak_mib = int(out.stdout.strip().splitlines()[-1]) / 1024
    folder = tmp_path / "reports" / "2026-07-01" / "08-engine-funnel"
    nb = (folder / "08-engine-funnel.ipynb").read_text(encoding="utf-8")
    assert "EngineDataset on duckdb" in nb
    funnel = pd.read_csv(folder / "tables" / "funnel_cohort.csv")
    assert funnel["reached"].iloc[0] > 50_000
    assert peak_mib < 1200, f"report kernel peaked at {peak_mib:.0f} MiB"


def test_engine_transitions_regressions_repeats_and_reopened_deals():
    """Deals whose stage order falls back take the slower path; same visits as pandas."""
    day = pd.Timestamp("2025-01-01")
    rows = [
        ("O1", "prospect", 0), ("O1", "contacted", 2), ("O1", "prospect", 4),
        ("O1", "contacted", 6), ("O1", "won", 8),
        ("O2", "prospect", 0), ("O2", "lost", 3), ("O2", "prospect", 5), ("O2", "contacted", 7),
        ("O3", "prospect", 0), ("O3", "contacted", 1), ("O3", "proposal", 2),
    ]  # fmt: skip
    hist = pd.DataFrame(
        [(o, s, day + pd.Timedelta(days=d)) for o, s, d in rows],
        columns=["opportunity_id", "stage", "entered_at"],
    )
    opps = pd.DataFrame(
        {
            "opportunity_id": ["O1", "O2", "O3"],
            "owner": ["Ana", "Ben", "Ana"],
            "created_at": [day] * 3,
            "stage": ["won", "contacted", "proposal"],
            "channel": ["web", "web", "event"],
            "amount": [100.0, 200.0, 300.0],
            "closed_at": [day + pd.Timedelta(days=8), pd.NaT, pd.NaT],
        }
    )
    frames = {"opportunities": opps, "stage_history": hist}
    ds = sa.read_dataset(frames)
    eds = sa.read_dataset(frames, engine="duckdb")
    cols = ["opportunity_id", "stage", "visit", "entered_at", "next_stage", "outcome"]
    key = ["opportunity_id", "entered_at"]
    for reentry in ("all", "first", "last"):
        a = sa.stage_transitions(ds, as_of="2025-01-31", reentry=reentry)[cols]
        b = sa.stage_transitions(eds, as_of="2025-01-31", reentry=reentry).to_pandas()[cols]
        same(a.sort_values(key), b.sort_values(key))
    t = sa.stage_transitions(eds, as_of="2025-01-31").to_pandas().sort_values(key)
    o1 = t[t["opportunity_id"] == "O1"]
    assert o1["visit"].tolist() == [1, 1, 2, 2]
    assert o1["outcome"].tolist() == ["advanced", "regressed", "advanced", "won"]
    o2 = t[t["opportunity_id"] == "O2"]
    assert o2["outcome"].tolist() == ["lost", "advanced", "open"]
    # the funnel follows each deal's last visit: O2 is open at contacted again, O1 won
    f = sa.funnel_summary(eds, as_of="2025-01-31").set_index("stage")
    assert f.loc["contacted", ["reached", "open_here", "won"]].tolist() == [3, 1, 1]
    same(sa.funnel_summary(ds, as_of="2025-01-31"), sa.funnel_summary(eds, as_of="2025-01-31"))


def test_weighted_kaplan_meier_equals_one_row_per_visit():
    """The dwell finishing step counts identical visits once, with their number."""
    from salesanalytics.funnel.dwell import km_quantile

    rng = np.random.default_rng(3)
    d = rng.integers(1, 6, 200).astype(float)
    obs = rng.random(200) < 0.7
    frame = pd.DataFrame({"d": d, "o": obs}).value_counts().reset_index()
    for q, expected in ((0.1, 1.0), (0.2, 2.0), (0.5, 4.0), (0.7, 5.0)):
        got = km_quantile(
            frame["d"].to_numpy(), frame["o"].to_numpy(), q, weights=frame["count"].to_numpy()
        )
        assert got == km_quantile(d, obs, q) == expected
    # hand-computed: 4 visits, two done at day 1 -> S(1) = 1 - 2/4 = 0.5 -> median 1
    assert (
        km_quantile(np.array([1.0, 3.0]), np.array([True, False]), 0.5, weights=np.array([2, 2]))
        == 1.0
    )
