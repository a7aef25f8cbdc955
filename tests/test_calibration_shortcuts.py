"""The calibration fit's shortcuts give exactly what the long way gives.

The fit encodes the transitions once and derives the transitions of earlier moments (the
inner out-of-time checks) from them, instead of recomputing them from the stage history;
Aalen-Johansen runs on presorted integer codes. Each shortcut is checked here against the
public function it replaces, on the sample and on a hand-made history with ties, re-entries
and deals still open.
"""

import warnings

import numpy as np
import pandas as pd
import pytest

import salesanalytics as sa
from salesanalytics.calibration.estimators import aalen_johansen, aalen_johansen_sorted
from salesanalytics.calibration.model import _encode, _History, stage_visits

pytestmark = [
    pytest.mark.filterwarnings("ignore:.*below min_count:UserWarning"),
    pytest.mark.filterwarnings("ignore:closes recorded over only:UserWarning"),
]

AS_OF = pd.Timestamp("2025-12-31 23:59:59.999999")


@pytest.fixture(scope="module")
def history(sample_ds):
    t = sa.stage_transitions(sample_ds, as_of=AS_OF)
    return _History(t, sample_ds.stages, sample_ds, {}, derivable=True)


@pytest.mark.parametrize("days", [1, 45, 90, 200])
def test_earlier_transitions_are_derived_exactly(sample_ds, history, days):
    cutoff = AS_OF - pd.Timedelta(days=days)
    cut = history.cut(cutoff).c
    direct_t = sa.stage_transitions(sample_ds, as_of=cutoff)
    direct = _encode(direct_t, sample_ds.stages)
    # the codes of the ids differ (fewer deals): compare the ids themselves
    ids = history.t["opportunity_id"].to_numpy()
    assert (ids[cut["pos"]] == direct_t["opportunity_id"].to_numpy()).all()
    for col in ("stage", "order", "visit", "entered_at", "exited_at", "outcome", "next_stage"):
        np.testing.assert_array_equal(cut[col], direct[col])
    np.testing.assert_array_equal(cut["dwell_days"], direct["dwell_days"])  # bit for bit


def test_derived_pipeline_is_pipeline_as_of(sample_ds, history):
    when = AS_OF - pd.Timedelta(days=60)
    direct = sa.pipeline_as_of(sample_ds, when)
    derived = history.pipeline(when)
    pd.testing.assert_frame_equal(derived, direct, check_exact=True)
    assert len(derived) > 50


def test_encoded_visits_are_stage_visits(sample_ds, history):
    v = history.visits(AS_OF, None, None)  # no delayed entry: every visit
    ref = stage_visits(history.t, AS_OF)
    assert (history.t["opportunity_id"].to_numpy()[v["pos"]] == ref["opportunity_id"]).all()
    assert (history.t["stage"].to_numpy()[v["pos"]] == ref["stage"]).all()
    np.testing.assert_array_equal(v["duration"], ref["duration"].to_numpy())
    fate = np.array([None, "won", "lost"], object)[v["fate"]]
    assert (pd.Series(fate).fillna("open") == ref["fate"].fillna("open")).all()


@pytest.mark.parametrize("weighted", [False, True])
def test_sorted_aalen_johansen_is_bit_identical(weighted):
    rng = np.random.default_rng(3)
    n = 400
    d = rng.integers(0, 40, n).astype(float)  # many ties
    e = np.where(rng.random(n) < 0.5, 0.0, rng.integers(0, 20, n).astype(float))
    codes = rng.integers(0, 3, n)
    w = rng.random(n) + 0.5 if weighted else np.ones(n)
    kinds = np.array([None, "won", "lost"], object)[codes]
    ref = aalen_johansen(d, kinds, ("won", "lost"), w, e)
    od, oe = np.argsort(d, kind="stable"), np.argsort(e, kind="stable")
    got = aalen_johansen_sorted(
        d[od],
        codes[od],
        ("won", "lost"),
        w[od] if weighted else None,
        w.sum(),
        e[oe],
        w[oe] if weighted else None,
    )
    np.testing.assert_array_equal(got.times, ref.times)
    np.testing.assert_array_equal(got.surv, ref.surv)
    for k in ("won", "lost"):
        np.testing.assert_array_equal(got.cif[k], ref.cif[k])
    assert got.n == ref.n


def _fit(ds, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sa.StageProbabilityModel(**kw)


@pytest.mark.parametrize(
    "params",
    [{}, {"half_life_days": 120.0, "by": ["channel", "owner"]}, {"window_days": 180.0}],
)
def test_derived_and_recomputed_fits_agree(sample_ds, params):
    """Given transitions (nothing derivable), the inner checks recompute the transitions
    from the dataset: the fitted numbers and the automatic choice are the same."""
    fast = _fit(sample_ds, **params).fit(sample_ds, as_of=AS_OF)
    t = sa.stage_transitions(sample_ds, as_of=AS_OF)
    slow = _fit(sample_ds, **params).fit(sample_ds, as_of=AS_OF, transitions=t)
    pd.testing.assert_frame_equal(fast.table_, slow.table_, check_exact=True)
    assert fast.by_ == slow.by_
    if hasattr(fast, "by_selection_"):
        pd.testing.assert_frame_equal(fast.by_selection_, slow.by_selection_, check_exact=True)
    deals = sa.pipeline_as_of(sample_ds, AS_OF)
    pd.testing.assert_frame_equal(
        fast.predict_proba(deals, horizon_days=60),
        slow.predict_proba(deals, horizon_days=60),
        check_exact=True,
    )


def test_transitions_in_any_order_take_the_general_path(sample_ds):
    """Transitions not grouped by deal: codes by factorization, first visits by hashing;
    the counts are those of :func:`stage_visits` on the same rows."""
    t = sa.stage_transitions(sample_ds, as_of=AS_OF)
    loose = t.iloc[np.random.default_rng(1).permutation(len(t))].reset_index(drop=True)
    loose.attrs = t.attrs
    model = _fit(sample_ds, by="channel", history_start=None)  # all exposure counts
    m = model.fit(sample_ds, as_of=AS_OF, transitions=loose)
    ref = stage_visits(loose, AS_OF)
    for s in sample_ds.stages.open_keys:
        row = m.table_[(m.table_["stage"] == s) & (m.table_["channel"] == "(all)")].iloc[0]
        here = ref[ref["stage"] == s]
        assert (row["entered"], row["won"], row["lost"]) == (
            len(here),
            int((here["fate"] == "won").sum()),
            int((here["fate"] == "lost").sum()),
        )
