"""The generator: byte-for-byte reproducible, and its ground truth is the truth."""

import json

import numpy as np
import pandas as pd
import pytest

from salesanalytics import _paths
from salesanalytics.sample import DEFAULT_SEED, Process, generate, write_sample
from salesanalytics.sample.process import BASE_ADVANCE, STAGES


def test_default_seed_regenerates_committed_sample_byte_for_byte(tmp_path):
    paths = write_sample(tmp_path, DEFAULT_SEED)
    committed = sorted(p.name for p in _paths.SAMPLE_DIR.iterdir())
    assert sorted(p.name for p in paths) == committed
    for p in paths:
        assert p.read_bytes() == (_paths.SAMPLE_DIR / p.name).read_bytes(), p.name


def test_size_and_shape_of_the_sample():
    truth = json.loads((_paths.SAMPLE_DIR / "ground_truth.json").read_text())
    assert 2_000 <= truth["counts"]["opportunities"] <= 5_000
    assert truth["planted"]["bottleneck"] == {
        "stage": "proposal",
        "channel": "trade_show",
        "advance_logit_shift": -1.6,
        "dwell_multiplier": 1.5,
    }
    assert truth["planted"]["slow_rep"]["owner"] == "Ethan Brooks"
    opps = generate().opportunities  # the tidy tables, before the planted mess
    assert opps["owner"].nunique() == 8 and opps["region"].nunique() == 3
    assert opps["channel"].nunique() == 6 and opps["product"].nunique() == 3
    open_deals = ~opps["stage"].isin(["won", "lost"])
    assert open_deals.sum() > 100  # censored deals at the end


def test_history_has_skips_backward_moves_and_terminal_rows():
    h = generate(n_leads=4_000, with_activities=False).stage_history
    order = {s: i for i, s in enumerate(STAGES)}
    pos = h["stage"].map(order)
    step = pos.groupby(h["opportunity_id"]).diff().dropna()
    assert (step == 2).sum() > 50  # skipped a stage
    assert (step < 0).sum() > 10  # moved back
    first = h.groupby("opportunity_id")["stage"].first()
    assert (first == "prospect").all()


def test_markov_truth_closed_forms():
    flat = Process(effects=False)
    # from contract the only ways out are won (p) or lost: truth is the base probability
    assert flat.win_probability(0, 0)[-1] == pytest.approx(BASE_ADVANCE[-1])
    # no effects: every channel and rep has the same truth
    w = np.array([[flat.win_probability(c, r) for r in range(8)] for c in range(6)])
    assert np.allclose(w, w[0, 0])
    planted = Process()
    tc = planted.channel_names.index("trade_show")
    assert planted.forward_probability(tc, 1)[3] < planted.forward_probability(0, 1)[3] - 0.25


def test_simulated_win_rates_match_the_markov_truth():
    """Deals old enough to have closed: empirical P(win | reached stage) within 3.5 SE of truth."""
    data = generate(7, effects=False, n_leads=60_000, months=36, with_activities=False)
    opps, hist = data.opportunities, data.stage_history
    old = opps.loc[opps["created_at"] < pd.Timestamp("2026-06-01"), "opportunity_id"]
    h = hist[hist["opportunity_id"].isin(old)]
    won = set(opps.loc[opps["stage"] == "won", "opportunity_id"])
    flat = Process(effects=False)
    reached_truth = flat.win_probability(0, 0)
    # first visit to each stage; by the Markov property P(win | at s) is the same at any visit
    first = h.drop_duplicates(["opportunity_id", "stage"])
    for i, s in enumerate(STAGES):
        ids = first.loc[first["stage"] == s, "opportunity_id"]
        p_hat = ids.isin(won).mean()
        se = np.sqrt(reached_truth[i] * (1 - reached_truth[i]) / len(ids))
        assert abs(p_hat - reached_truth[i]) < 3.5 * se, (s, p_hat, reached_truth[i], len(ids))


def test_no_effects_switch_removes_planted_effects():
    d = generate(3, effects=False, n_leads=2_000, with_activities=False)
    assert d.truth["planted"] == {"bottleneck": None, "slow_rep": None}
    by_c = d.truth["win_probability"]["by_stage_channel"]["proposal"]
    assert max(by_c.values()) - min(by_c.values()) < 1e-9


def test_same_seed_same_tables_other_seed_other_tables():
    a = generate(11, n_leads=1_500)
    b = generate(11, n_leads=1_500)
    c = generate(12, n_leads=1_500)
    for name in a.tables:
        pd.testing.assert_frame_equal(a.tables[name], b.tables[name])
    assert not a.opportunities["amount"].equals(c.opportunities["amount"])
