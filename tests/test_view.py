"""The point-in-time View: the one place where "nothing after as_of" is applied and tested.

Rows dated after ``as_of`` are appended to every table of the sample (new deals, new stage
entries, closes of deals still open, changed amounts, new leads, conversions, responses,
activities, orders, first purchases, targets); the view at ``as_of`` and every analysis run
on it must not move. Then each analysis on the view is compared with the same analysis
given ``as_of=`` on the full dataset.
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd
import pytest

import salesanalytics as sa
from salesanalytics.view import View

D = "2025-12-31"
LATER = pd.Timestamp("2026-01-01 09:00")  # just after D: inside the sample's own span
BEYOND = pd.Timestamp("2026-08-15 10:00")  # after the sample's last date


# ------------------------------------------------------------------ a hand-made history
HISTORY = pd.DataFrame(
    [
        ("D1", "prospect", "2024-01-01", 100.0),
        ("D1", "contacted", "2024-01-03", 150.0),
        ("D1", "proposal", "2024-01-06", 150.0),
        ("D1", "won", "2024-01-10", 180.0),
        ("D2", "prospect", "2024-01-01", 200.0),
        ("D2", "lost", "2024-01-05", 200.0),
        ("D3", "prospect", "2024-01-02", 300.0),
        ("D3", "contacted", "2024-01-09", 320.0),
        ("D4", "prospect", "2024-01-08", 400.0),
    ],
    columns=["opportunity_id", "stage", "entered_at", "amount"],
).assign(entered_at=lambda d: pd.to_datetime(d["entered_at"]))
OPPS = pd.DataFrame(
    {
        "opportunity_id": ["D1", "D2", "D3", "D4"],
        "owner": ["a", "a", "b", "b"],
        "created_at": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-02", "2024-01-08"]),
        "stage": ["won", "lost", "contacted", "prospect"],
        "amount": [180.0, 200.0, 320.0, 400.0],
        "closed_at": pd.to_datetime(["2024-01-10", "2024-01-05", None, None]),
        "close_amount": [175.0, np.nan, np.nan, np.nan],
        "loss_reason": pd.array([None, "price", None, None], dtype="string"),
        "status": ["won", "lost", "open", "open"],
    }
)


def _hand_view(as_of: str) -> View:
    cfg = sa.load_stages("default")
    return sa.Dataset(stages=cfg, opportunities=OPPS, stage_history=HISTORY).at(as_of)


def test_hand_made_view_shows_each_deal_as_known_then():
    v = _hand_view("2024-01-07")
    o = v.opportunities.set_index("opportunity_id")
    # D4 was created on the 8th: not known yet
    assert list(o.index) == ["D1", "D2", "D3"]
    # D1 was won on the 10th: on the 7th it was open in proposal, at the amount recorded then
    assert o.loc["D1", ["stage", "status", "amount"]].tolist() == ["proposal", "open", 150.0]
    assert pd.isna(o.loc["D1", "closed_at"]) and pd.isna(o.loc["D1", "close_amount"])
    # D2 was lost on the 5th: known, with its reason
    assert o.loc["D2", ["stage", "status", "loss_reason"]].tolist() == ["lost", "lost", "price"]
    assert o.loc["D2", "closed_at"] == pd.Timestamp("2024-01-05")
    # D3 entered contacted on the 9th: still a prospect on the 7th, at 300
    assert o.loc["D3", ["stage", "status", "amount"]].tolist() == ["prospect", "open", 300.0]
    assert v.stage_history["entered_at"].max() == pd.Timestamp("2024-01-06")
    t = sa.stage_transitions(v)
    assert t.attrs["as_of"] == "2024-01-07"
    d1 = t[t["opportunity_id"] == "D1"]
    assert d1["outcome"].tolist() == ["advanced", "skipped", "open"]
    assert d1["dwell_days"].iloc[-1] == pytest.approx(1 + 86399.999999 / 86400)
    # the input was not touched
    assert OPPS.loc[0, "stage"] == "won" and len(HISTORY) == 9


def test_as_of_parsed_once_iso_only_and_a_bare_date_is_the_end_of_the_day():
    v = _hand_view("2024-01-10")
    assert v.as_of == pd.Timestamp("2024-01-10 23:59:59.999999")
    assert v.opportunities.set_index("opportunity_id").loc["D1", "status"] == "won"
    before = _hand_view("2024-01-09 23:59").opportunities.set_index("opportunity_id")
    assert before.loc["D1", "status"] == "open" and before.loc["D3", "stage"] == "contacted"
    earlier = _hand_view("2024-01-07 12:00").opportunities.set_index("opportunity_id")
    assert earlier.loc["D3", "stage"] == "prospect" and "D4" not in earlier.index
    for bad in ("10/01/2024", "Jan 10 2024", "", None, "2024-13-01"):
        with pytest.raises(ValueError, match="as_of"):
            _hand_view(bad)


def test_a_view_refuses_another_as_of_and_the_future():
    v = _hand_view("2024-01-07")
    assert sa.stage_transitions(v, as_of="2024-01-07").attrs["as_of"] == "2024-01-07"
    for call in (
        lambda: sa.stage_transitions(v, as_of="2024-01-09"),
        lambda: sa.stage_dwell(v, as_of="2024-01-06"),
        lambda: sa.funnel_summary(v, as_of="2024-01-08"),
        lambda: sa.pipeline_as_of(v, "2024-01-08"),
        lambda: sa.GlobalWinRate().fit(v, as_of="2024-01-08"),
        lambda: v.at("2024-01-08"),
    ):
        with pytest.raises(ValueError):
            call()
    earlier = v.at("2024-01-04")
    assert earlier.as_of == pd.Timestamp("2024-01-04 23:59:59.999999")
    assert v.at("2024-01-07") is v


def test_transitions_are_computed_once_per_option_and_handed_out_as_copies():
    v = _hand_view("2024-01-09")
    a = sa.stage_transitions(v)
    a.loc[:, "stage"] = "changed"
    sa.stage_dwell(v)
    sa.stale_deals(v)
    b = sa.stage_transitions(v)
    assert (b["stage"] != "changed").all()
    assert v._transitions.cache_info().misses == 1
    first = v.transitions(reentry="first")
    assert v._transitions.cache_info().misses == 2
    assert len(first) <= len(b)


# ------------------------------------------------------------------ the sample, plus a future
def _with_future(ds: sa.Dataset) -> sa.Dataset:
    """The sample with rows dated after D appended to every table, and later edits."""
    o, h = ds.opportunities.copy(), ds.stage_history.copy()
    d = pd.Timestamp(D) + pd.Timedelta(days=1)
    # new deals after D, with their history
    new = o.head(40).copy()
    new["opportunity_id"] = [f"FUT-{i:03d}" for i in range(len(new))]
    new["created_at"] = LATER + pd.to_timedelta(np.arange(len(new)), unit="h")
    new[["stage", "status"]] = ["prospect", "open"]
    new[["closed_at", "close_amount", "loss_reason"]] = [pd.NaT, np.nan, pd.NA]
    new_h = pd.DataFrame(
        {
            "opportunity_id": new["opportunity_id"],
            "stage": "prospect",
            "entered_at": new["created_at"],
            "owner": new["owner"],
            "amount": new["amount"],
        }
    )
    # every deal still open today closes (won) later, at a changed amount
    still = o["status"] == "open"
    o.loc[still, ["stage", "status"]] = ["won", "won"]
    o.loc[still, "closed_at"] = BEYOND
    o.loc[still, "close_amount"] = o.loc[still, "amount"] * 1.5
    won_h = pd.DataFrame(
        {
            "opportunity_id": o.loc[still, "opportunity_id"],
            "stage": "won",
            "entered_at": BEYOND,
            "owner": o.loc[still, "owner"],
            "amount": o.loc[still, "amount"] * 1.5,
        }
    )
    # amounts change after D: the record shows the new one, history entries after D carry it
    o["amount"] = o["amount"] * 3
    h.loc[h["entered_at"] >= d, "amount"] = h.loc[h["entered_at"] >= d, "amount"] * 3
    o = pd.concat([o, new], ignore_index=True).astype(ds.opportunities.dtypes.to_dict())
    h = pd.concat([h, won_h, new_h], ignore_index=True).astype(ds.stage_history.dtypes.to_dict())

    ld = ds.leads.copy()
    waiting = (ld["created_at"] <= d) & ~ld["converted"].fillna(False).astype(bool)
    ld.loc[waiting, ["converted", "converted_at"]] = [True, BEYOND]
    ld.loc[ld["first_response_at"].isna(), "first_response_at"] = BEYOND
    ld_new = ds.leads.head(30).assign(
        lead_id=[f"FUTL-{i}" for i in range(30)], created_at=BEYOND, first_response_at=BEYOND
    )
    ld = pd.concat([ld, ld_new], ignore_index=True).astype(ds.leads.dtypes.to_dict())

    act = pd.concat(
        [
            ds.activities,
            ds.activities.head(50).assign(
                activity_id=[f"FUTA-{i}" for i in range(50)], occurred_at=BEYOND
            ),
        ],
        ignore_index=True,
    ).astype(ds.activities.dtypes.to_dict())
    orders = pd.concat(
        [
            ds.orders,
            ds.orders.head(20).assign(
                order_id=[f"FUTO-{i}" for i in range(20)], ordered_at=BEYOND, amount=1e6
            ),
        ],
        ignore_index=True,
    ).astype(ds.orders.dtypes.to_dict())
    acc = ds.accounts.copy()
    acc.loc[acc["first_purchase_at"].isna(), "first_purchase_at"] = BEYOND
    return dataclasses.replace(
        ds,
        opportunities=o,
        stage_history=h,
        leads=ld,
        activities=act,
        orders=orders,
        accounts=acc,
    )


@pytest.fixture(scope="module")
def views(sample_ds):
    return sample_ds.at(D), _with_future(sample_ds).at(D)


def _analyses(v, model_by="channel") -> dict[str, pd.DataFrame]:
    pipe = sa.pipeline_as_of(v)
    model = sa.StageProbabilityModel(by=model_by, min_count=10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(v, as_of=D)
    return {
        "transitions": sa.stage_transitions(v),
        "cohort": sa.funnel_summary(v, by="channel"),
        "period": sa.funnel_summary(v, mode="period", period="Q"),
        "stage_dwell": sa.stage_dwell(v, by="channel"),
        "stale_deals": sa.stale_deals(v),
        "bottlenecks": sa.find_bottlenecks(v, by="channel"),
        "rep_dwell": sa.rep_dwell(v),
        "conversion_by": sa.conversion_by(v),
        "model": model.table_,
        "global_rate": pd.DataFrame({"rate": [sa.GlobalWinRate().fit(v).rate_]}),
        "pipeline": pipe,
        "forecast_configured": sa.forecast_bookings(pipe, v.stages, by="channel", n_sims=500),
        "forecast_model": sa.forecast_bookings(pipe, model, horizon_days=90, n_sims=500),
        "bookings": sa.bookings(v, period="Q"),
        "attainment": sa.attainment(v, period="Q", by="team"),
    }


def test_the_future_does_not_reach_the_view(views):
    now, future = views
    assert len(future.dataset.opportunities) > len(now.dataset.opportunities)
    for table in now.tables:
        pd.testing.assert_frame_equal(
            getattr(now, table), getattr(future, table), obj=f"view.{table}"
        )


def test_the_future_does_not_reach_any_analysis_on_the_view(views):
    now, future = views
    a, b = _analyses(now), _analyses(future)
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name], obj=name)
    assert a["bookings"]["bookings"].sum() > 0 and len(a["pipeline"]) == 239


def test_the_view_is_what_the_crm_showed_then(views):
    now, _ = views
    o = now.opportunities
    assert (o["created_at"] <= now.as_of).all()
    closed = o["status"].isin(["won", "lost"])
    assert (o.loc[closed, "closed_at"] <= now.as_of).all()
    assert o.loc[~closed, ["closed_at", "close_amount", "loss_reason"]].isna().all().all()
    assert (o["status"] == sa.load_stages("default").status(o["stage"])).all()
    # of the 239 deals open on D, 238 have closed since: the record says won/lost today
    full = now.dataset.opportunities.set_index("opportunity_id")["status"]
    later = o.loc[(o["status"] == "open").to_numpy(), "opportunity_id"].map(full)
    assert later.value_counts().to_dict() == {"lost": 158, "won": 80, "open": 1}


def test_results_on_the_view_equal_todays_results_with_as_of(sample_ds, views):
    """Same numbers as ``as_of=D`` on the full dataset, but for two intended fixes.

    1. ``stage_transitions`` carries each deal's ``status`` and ``loss_reason``: the view
       gives them as of D (open for the deals closed later), the full dataset as of today.
    2. ``conversion_by`` counted conversions made after D and the fate of their deals after
       D; the view counts only what was known on D.
    """
    ds, (v, _) = sample_ds, views
    full = {
        "cohort": sa.funnel_summary(ds, by="channel", as_of=D),
        "period": sa.funnel_summary(ds, mode="period", period="Q", as_of=D),
        "stage_dwell": sa.stage_dwell(ds, by="channel", as_of=D),
        "stale_deals": sa.stale_deals(ds, as_of=D),
        "bottlenecks": sa.find_bottlenecks(ds, by="channel", as_of=D),
        "rep_dwell": sa.rep_dwell(ds, as_of=D),
        "pipeline": sa.pipeline_as_of(ds, D),
        "bookings": sa.bookings(ds, period="Q", as_of=D),
        "attainment": sa.attainment(ds, period="Q", by="team", as_of=D),
    }
    on_view = _analyses(v)
    for name, expected in full.items():
        pd.testing.assert_frame_equal(on_view[name], expected, obj=name)
    m = sa.StageProbabilityModel(by="channel", min_count=10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m.fit(ds, as_of=D)
    pd.testing.assert_frame_equal(on_view["model"], m.table_)
    assert on_view["global_rate"]["rate"][0] == sa.GlobalWinRate().fit(ds, as_of=D).rate_

    t_full = sa.stage_transitions(ds, as_of=D)
    t_view = on_view["transitions"]
    pd.testing.assert_frame_equal(
        t_view.drop(columns=["status", "loss_reason"]),
        t_full.drop(columns=["status", "loss_reason"]),
    )
    differ = t_view["status"].ne(t_full["status"])
    assert int(differ.sum()) == 722
    assert set(t_view.loc[differ, "status"]) == {"open"}
    assert set(t_full.loc[differ, "status"]) == {"won", "lost"}

    c_full, c_view = sa.conversion_by(ds, as_of=D), on_view["conversion_by"]
    assert c_full["leads"].tolist() == c_view["leads"].tolist()
    # what the view counts is exactly what had happened by D
    ld = ds.leads[ds.leads["created_at"] <= v.as_of]
    by_d = ld["converted"].fillna(False).astype(bool) & (ld["converted_at"] <= v.as_of).fillna(
        False
    )
    assert c_view["opportunities"].sum() == int(by_d.sum()) < c_full["opportunities"].sum()
    won_by_d = v.opportunities.loc[v.opportunities["status"] == "won", "opportunity_id"]
    assert c_view["won"].sum() == int(ld["opportunity_id"].isin(won_by_d).sum())


def test_a_coarse_view_without_stage_history(sample_ds):
    ds = dataclasses.replace(sample_ds, stage_history=None)
    v = ds.at(D)
    assert v.history_is_coarse and v.stage_history is None
    t = sa.stage_transitions(v)
    full = sa.stage_transitions(ds, as_of=D)
    pd.testing.assert_frame_equal(
        t.drop(columns=["status", "loss_reason"]), full.drop(columns=["status", "loss_reason"])
    )
    closed_later = (sample_ds.opportunities["closed_at"] > v.as_of) & (
        sample_ds.opportunities["created_at"] <= v.as_of
    )
    o = v.opportunities.set_index("opportunity_id")
    ids = sample_ds.opportunities.loc[closed_later, "opportunity_id"]
    assert (o.loc[ids, "stage"] == "prospect").all() and (o.loc[ids, "status"] == "open").all()


def test_an_out_of_time_report_on_a_view_scores_only_fates_known_then(views):
    v, future = views
    r = sa.calibration_report({"global": sa.GlobalWinRate()}, v, "2025-09-30")
    closed = v.opportunities.set_index("opportunity_id")["status"]
    assert closed.reindex(r.predictions["opportunity_id"]).isin(["won", "lost"]).all()
    assert r.scores.attrs["snapshots"] == ["2025-09-30", "2025-10-01", "2025-11-01", "2025-12-01"]
    again = sa.calibration_report({"global": sa.GlobalWinRate()}, future, "2025-09-30")
    pd.testing.assert_frame_equal(r.scores, again.scores)
    with pytest.raises(ValueError):
        sa.calibration_report({"global": sa.GlobalWinRate()}, v, "2026-02-01")


def test_the_automatic_segment_choice_is_the_same_on_a_view(sample_ds):
    """``by="auto"`` refits on earlier dates: a View is rewound to them, not refused (which
    silently chose no segments)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        on_ds = sa.StageProbabilityModel().fit(sample_ds, as_of="2025-12-31")
        on_view = sa.StageProbabilityModel().fit(sample_ds.at("2025-12-31"))
    assert on_ds.by_ == on_view.by_ == ["channel", "region"]
    pd.testing.assert_frame_equal(on_view.by_selection_, on_ds.by_selection_)
    pd.testing.assert_frame_equal(on_view.table_, on_ds.table_)
