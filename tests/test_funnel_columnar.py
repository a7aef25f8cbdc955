"""Transitions and cohort funnel on histories given out of order, with ties and gaps.

The columnar implementation ranks ids, checks the order in one pass and joins segments by
position; these cases pin the documented row order and counts on inputs that take the
other paths (unsorted rows, equal timestamps, deals missing from the opportunities).
"""

import numpy as np
import pandas as pd
import pytest

import salesanalytics as sa

AS_OF = "2024-02-29"
ROWS = [  # deliberately not in (deal, time) order
    ("E2", "prospect", "2024-02-01 00:00"),
    ("E3", "lost", "2024-02-09 00:00"),
    ("E2", "contacted", "2024-02-03 12:00"),
    ("E1", "contacted", "2024-02-01 00:00"),  # same instant as E1's prospect: stage order
    ("E2", "prospect", "2024-02-05 00:00"),  # back to prospect: a second visit
    ("E1", "won", "2024-02-04 00:00"),
    ("E2", "contacted", "2024-02-06 00:00"),
    ("E1", "prospect", "2024-02-01 00:00"),
    ("E3", "prospect", "2024-02-02 00:00"),
    ("E2", "proposal", "2024-02-10 00:00"),  # still there at as_of
    ("E3", "not_a_stage", "2024-03-05 00:00"),  # after as_of: never read
]


@pytest.fixture
def history():
    h = pd.DataFrame(ROWS, columns=["opportunity_id", "stage", "entered_at"])
    return h.astype({"opportunity_id": "string", "stage": "string"}).assign(
        entered_at=pd.to_datetime(h["entered_at"])
    )


@pytest.fixture
def opps():  # E3 has no opportunity row: its segments are missing, as in a left join
    return pd.DataFrame(
        {
            "opportunity_id": pd.array(["E2", "E1"], dtype="string"),
            "channel": pd.array([None, "web"], dtype="string"),
            "owner": pd.array(["b", "a"], dtype="string"),
            "created_at": pd.to_datetime(["2024-02-01", "2024-01-31"]),
            "amount": [200, 100],
        }
    )


def transitions(history, opps, **kw):
    return sa.stage_transitions(
        stage_history=history, opportunities=opps, stages="default", as_of=AS_OF, **kw
    )


def test_unsorted_history_by_hand(history, opps):
    t = transitions(history, opps)
    got = list(
        zip(
            t["opportunity_id"],
            t["stage"],
            t["visit"],
            t["next_stage"].fillna("-"),
            t["outcome"],
            t["dwell_days"].round(6),
            strict=True,
        )
    )
    assert got == [
        ("E1", "prospect", 1, "contacted", "advanced", 0.0),
        ("E1", "contacted", 1, "won", "won", 3.0),
        ("E2", "prospect", 1, "contacted", "advanced", 2.5),
        ("E2", "contacted", 1, "prospect", "regressed", 1.5),
        ("E2", "prospect", 2, "contacted", "advanced", 1.0),
        ("E2", "contacted", 2, "proposal", "skipped", 4.0),
        ("E2", "proposal", 1, "-", "open", 20.0),  # to the end of the as_of day
        ("E3", "prospect", 1, "lost", "lost", 7.0),
    ]
    assert t["exited_at"].isna().tolist() == [False] * 6 + [True, False]
    assert t["censored"].tolist() == [False] * 6 + [True, False]
    assert t["channel"].isna().tolist() == [False, False] + [True] * 6
    assert t["amount"].tolist()[:3] == [100, 100, 200] and np.isnan(t["amount"].iloc[-1])
    assert {c: str(t[c].dtype) for c in ("order", "visit", "exited_at", "censored")} == {
        "order": "int64",
        "visit": "int64",
        "exited_at": "datetime64[ns]",
        "censored": "bool",
    }
    assert t["next_stage"].dtype == "string" and t["outcome"].dtype == "str"
    assert t.index.equals(pd.RangeIndex(8))


def test_reentry_keeps_one_visit(history, opps):
    first = transitions(history, opps, reentry="first")
    last = transitions(history, opps, reentry="last")
    e2 = lambda t: t[t["opportunity_id"] == "E2"].set_index("stage")  # noqa: E731
    assert len(first) == len(last) == 6
    assert e2(first).loc["contacted", ["visit", "outcome"]].tolist() == [1, "regressed"]
    assert e2(last).loc["contacted", ["visit", "outcome"]].tolist() == [2, "skipped"]
    assert e2(last).loc["prospect", "dwell_days"] == pytest.approx(1.0)


def test_unknown_stage_before_as_of_is_named(history, opps):
    bad = history.assign(entered_at=history["entered_at"].where(history["stage"] != "not_a_stage"))
    bad.loc[len(bad) - 1, "entered_at"] = pd.Timestamp("2024-02-20")
    with pytest.raises(ValueError, match="not_a_stage"):
        transitions(bad, opps)


def test_cohort_funnel_on_reordered_deals_by_hand(history, opps):
    t = transitions(history, opps)
    cols = ["reached", "advanced", "lost_here", "open_here", "won"]
    expected = {
        "prospect": [3, 2, 1, 0, 1],
        "contacted": [2, 2, 0, 0, 1],
        "needs_confirmed": [2, 2, 0, 0, 1],  # jumped over by E2: reached by default
        "proposal": [2, 1, 0, 1, 1],
        "negotiation": [1, 1, 0, 0, 1],
        "contract": [1, 1, 0, 0, 1],
    }
    # deals in descending order, each deal's rows kept in order: the same deals and last rows
    shuffled = t.sort_values("opportunity_id", ascending=False, kind="mergesort")
    for table in (t, shuffled):
        f = sa.funnel_summary(transitions=table, stages="default").set_index("stage")
        assert f[cols].T.to_dict("list") == expected
    g = sa.funnel_summary(transitions=shuffled, stages="default", skipped="not_reached")
    g = g.set_index("stage")
    assert g.loc["needs_confirmed", "reached"] == 0
    assert g.loc["proposal", cols].tolist() == [1, 0, 0, 1, 0]


def test_cohort_funnel_segments_with_missing_values(history, opps):
    t = transitions(history, opps)
    f = sa.funnel_summary(transitions=t, stages="default", by="channel")
    first = f[f["stage"] == "prospect"]
    assert first["channel"].iloc[0] == "web" and pd.isna(first["channel"].iloc[1])
    cols = ["reached", "advanced", "lost_here", "won"]
    assert first[cols].values.tolist() == [[1, 1, 0, 1], [2, 1, 1, 0]]
    c = sa.funnel_summary(transitions=t, stages="default", period="M", start="2024-02-01")
    assert c["cohort"].unique().tolist() == ["2024-02"]  # only E2 was created from Feb 1
    assert c.loc[c["stage"] == "proposal", ["reached", "open_here"]].values.tolist() == [[1, 1]]


def test_cohort_and_period_funnel_are_funnel_summary_views():
    v = sa.read_dataset().at("2026-03-31")
    pd.testing.assert_frame_equal(
        sa.cohort_funnel(v, by="channel", skipped="not_reached"),
        sa.funnel_summary(v, by="channel", skipped="not_reached"),
    )
    p = sa.period_funnel(v, period="Q")
    pd.testing.assert_frame_equal(p, sa.funnel_summary(v, mode="period", period="Q"))
    assert p.attrs["mode"] == "period" and p.attrs["as_of"] == "2026-03-31"
    with pytest.raises(TypeError):
        sa.cohort_funnel(v, bye="channel")
    with pytest.raises(TypeError):
        sa.period_funnel(v, mode="cohort")


def test_view_reads_the_last_entry_of_an_unsorted_history(history):
    h = history[history["stage"] != "not_a_stage"].copy()
    amounts = {  # (deal, entered_at) -> amount recorded with that entry; others missing
        ("E2", "2024-02-01 00:00"): 100.0,
        ("E2", "2024-02-06 00:00"): 300.0,
        ("E1", "2024-02-01 00:00"): 50.0,  # E1's prospect and contacted share this instant
        ("E1", "2024-02-04 00:00"): 70.0,
    }
    key = zip(h["opportunity_id"], h["entered_at"].dt.strftime("%Y-%m-%d %H:%M"), strict=True)
    h["amount"] = [amounts.get(k, np.nan) for k in key]
    o = pd.DataFrame(
        {
            "opportunity_id": pd.array(["E2", "E3", "E1"], dtype="string"),
            "owner": pd.array(["b", "c", "a"], dtype="string"),
            "created_at": pd.to_datetime(["2024-02-01", "2024-02-02", "2024-01-31"]),
            "stage": pd.array(["proposal", "lost", "won"], dtype="string"),
            "status": pd.array(["open", "lost", "won"], dtype="string"),
            "amount": [300.0, 999.0, 70.0],
            "closed_at": pd.to_datetime([None, "2024-02-09", "2024-02-04"]),
        }
    )
    v = sa.Dataset(stages=sa.load_stages("default"), opportunities=o, stage_history=h)
    got = v.at("2024-02-05").opportunities.set_index("opportunity_id")
    assert got["stage"].to_dict() == {"E2": "prospect", "E3": "prospect", "E1": "won"}
    assert got["status"].to_dict() == {"E2": "open", "E3": "open", "E1": "won"}
    # the last amount recorded by then; E3 recorded none and keeps its own
    assert got["amount"].to_dict() == {"E2": 100.0, "E3": 999.0, "E1": 70.0}
    assert got["closed_at"].isna().to_dict() == {"E2": True, "E3": True, "E1": False}
