"""The generating process of the synthetic CRM: its parameters and exact ground truth.

The pipeline is a Markov chain over the seven-stage funnel. From open stage ``i`` a deal
moves back one stage with probability ``BACK[i]``; otherwise it advances with probability
``p_i = sigmoid(logit(BASE_ADVANCE[i]) + channel effect + rep effect [+ bottleneck])``
(skipping one stage with probability ``SKIP[i]`` of the advances) or is lost. Dwell times
are lognormal, longer for deals that end up lost (so deals stuck longer win less), longer
for the slow rep and in the bottleneck. Truth follows from the chain by linear algebra.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["Process", "STAGES", "WON", "LOST", "chain_move"]

STAGES = ("prospect", "contacted", "needs_confirmed", "proposal", "negotiation", "contract")
WON, LOST = 6, 7  # state indexes after the six open stages
BASE_ADVANCE = (0.78, 0.76, 0.70, 0.66, 0.74, 0.86)
SKIP = (0.08, 0.08, 0.08, 0.0, 0.0, 0.0)
BACK = (0.0, 0.0, 0.0, 0.05, 0.05, 0.0)
DWELL_MEDIAN_DAYS = (4.0, 7.0, 12.0, 15.0, 10.0, 6.0)
DWELL_SIGMA = 0.6
LOST_DWELL_MULTIPLIER = 1.6


def chain_move(
    s: np.ndarray, u: np.ndarray, u2: np.ndarray, z: np.ndarray, *, p: np.ndarray, med: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """One move of the stage chain from open states ``s``: the next state and the dwell.

    ``u``, ``u2``: uniform draws (back / forward / lost, then a skip); ``z``: standard normal
    (the lognormal dwell); ``p``: each deal's chance to advance from its state, ``med``: its
    median dwell there. Back with ``BACK``, else forward with ``p`` (skipping a stage with
    ``SKIP``), else lost after a dwell ``LOST_DWELL_MULTIPLIER`` times as long.

    >>> nxt, dwell = chain_move(np.array([0, 3]), np.array([0.5, 0.01]), np.array([0.9, 0.9]),
    ...                         np.zeros(2), p=np.array([0.7, 0.7]), med=np.array([4.0, 15.0]))
    >>> nxt.tolist(), dwell.tolist()
    ([1, 2], [4.0, 15.0])
    """
    b = np.asarray(BACK)[s]
    go_back = u < b
    fwd = ~go_back & (u < b + (1 - b) * p)
    lost = ~go_back & ~fwd
    skip = np.asarray(SKIP)[s]
    nxt = np.where(go_back, s - 1, np.where(lost, LOST, s + 1 + (fwd & (u2 < skip))))
    dwell = med * np.where(lost, LOST_DWELL_MULTIPLIER, 1.0) * np.exp(DWELL_SIGMA * z)
    return nxt, dwell


REPS = (  # name, region, effect on the advance logit
    ("Ana Silva", "North", 0.25),
    ("Ben Okafor", "North", 0.0),
    ("Chen Wei", "North", -0.15),
    ("Diana Park", "South", 0.10),
    ("Ethan Brooks", "South", 0.0),
    ("Fatima Khan", "South", -0.25),
    ("Gao Lin", "West", 0.15),
    ("Hugo Martin", "West", -0.10),
)
CHANNELS = (  # name, share of leads, effect on the advance logit, effect on lead conversion
    ("website", 0.30, 0.0, 0.0),
    ("referral", 0.12, 0.40, 0.6),
    ("trade_show", 0.15, 0.0, 0.2),
    ("partner", 0.13, 0.20, 0.3),
    ("cold_outreach", 0.18, -0.30, -0.5),
    ("social_media", 0.12, -0.10, -0.2),
)
BOTTLENECK = {
    "stage": "proposal",
    "channel": "trade_show",
    "advance_logit_shift": -1.6,
    "dwell_multiplier": 1.5,
}
SLOW_REP = {"owner": "Ethan Brooks", "dwell_multiplier": 1.8}


def _logit(p):
    return np.log(p) - np.log1p(-np.asarray(p))


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


@dataclass(frozen=True)
class Process:
    """Segment effects of one generating process; ``effects=False`` makes every segment alike."""

    effects: bool = True
    rep_names: tuple[str, ...] = field(default=tuple(r[0] for r in REPS))
    channel_names: tuple[str, ...] = field(default=tuple(c[0] for c in CHANNELS))

    @property
    def rep_effect(self) -> np.ndarray:
        return np.array([r[2] for r in REPS]) * self.effects

    @property
    def channel_effect(self) -> np.ndarray:
        return np.array([c[2] for c in CHANNELS]) * self.effects

    @property
    def channel_lead_effect(self) -> np.ndarray:
        return np.array([c[3] for c in CHANNELS]) * self.effects

    @property
    def rep_dwell_multiplier(self) -> np.ndarray:
        m = np.ones(len(REPS))
        if self.effects:
            m[self.rep_names.index(SLOW_REP["owner"])] = SLOW_REP["dwell_multiplier"]
        return m

    def _bottleneck(self, ch: np.ndarray) -> np.ndarray:
        """Boolean [n, 6]: is (deal's channel, stage) the planted bottleneck."""
        out = np.zeros((len(ch), len(STAGES)), bool)
        if self.effects:
            c = self.channel_names.index(BOTTLENECK["channel"])
            out[:, STAGES.index(BOTTLENECK["stage"])] = ch == c
        return out

    def advance_probability(self, ch: np.ndarray, rep: np.ndarray) -> np.ndarray:
        """P(advance | leave stage forward-or-lost) per deal and open stage, shape [n, 6]."""
        ch, rep = np.asarray(ch), np.asarray(rep)
        x = (
            _logit(np.array(BASE_ADVANCE))[None, :]
            + (self.channel_effect[ch] + self.rep_effect[rep])[:, None]
        )
        x = x + self._bottleneck(ch) * BOTTLENECK["advance_logit_shift"]
        return _sigmoid(x)

    def dwell_median(self, ch: np.ndarray, rep: np.ndarray) -> np.ndarray:
        """Median dwell in days for a forward exit, per deal and open stage, shape [n, 6]."""
        ch, rep = np.asarray(ch), np.asarray(rep)
        m = np.array(DWELL_MEDIAN_DAYS)[None, :] * self.rep_dwell_multiplier[rep][:, None]
        return m * np.where(self._bottleneck(ch), BOTTLENECK["dwell_multiplier"], 1.0)

    def transition_matrix(self, ch: int, rep: int) -> np.ndarray:
        """8x8 transition matrix (six open stages, won, lost) of one (channel, rep) cell."""
        p = self.advance_probability(np.array([ch]), np.array([rep]))[0]
        T = np.zeros((8, 8))
        for i in range(6):
            b, k = BACK[i], SKIP[i]
            fwd = (1 - b) * p[i]
            if i > 0:
                T[i, i - 1] = b
            T[i, min(i + 1, WON)] += fwd * (1 - k)
            if k:
                T[i, i + 2] += fwd * k
            T[i, LOST] = (1 - b) * (1 - p[i])
        T[WON, WON] = T[LOST, LOST] = 1.0
        return T

    def win_probability(self, ch: int, rep: int) -> np.ndarray:
        """P(eventually won | currently in open stage i), shape [6]."""
        T = self.transition_matrix(ch, rep)
        Q, r = T[:6, :6], T[:6, WON]
        return np.linalg.solve(np.eye(6) - Q, r)

    def reach_probability(self, ch: int, rep: int) -> np.ndarray:
        """P(ever entering open stage j | created in prospect), shape [6]."""
        T = self.transition_matrix(ch, rep)
        out = np.ones(6)
        for j in range(1, 6):
            A = T.copy()
            A[j, :] = 0.0
            A[j, j] = 1.0  # make j absorbing
            others = [i for i in range(6) if i != j]
            Q = A[np.ix_(others, others)]
            h = np.linalg.solve(np.eye(5) - Q, A[others, j])
            out[j] = h[others.index(0)]
        return out

    def win_probability_given_age(self, ch, rep, stage, age_days) -> np.ndarray:
        """Exact P(won | in open stage ``stage`` for ``age_days`` so far), per deal.

        The exit still to come is forward, back or lost with prior weights times the chance
        that its lognormal dwell exceeds the age already spent (lost exits dwell longer).
        """
        from scipy.stats import norm

        ch, rep, s = np.asarray(ch), np.asarray(rep), np.asarray(stage)
        age = np.maximum(np.asarray(age_days, float), 1e-9)
        rows = np.arange(len(s))
        p = self.advance_probability(ch, rep)[rows, s]
        med = self.dwell_median(ch, rep)[rows, s]
        back, skip = np.array(BACK)[s], np.array(SKIP)[s]
        win = np.stack([self.win_probability(c, r) for c, r in zip(ch, rep)])  # [n, 6]
        w_ext = np.concatenate([win, np.ones((len(s), 1)), np.ones((len(s), 1))], axis=1)
        nxt = np.minimum(s + 1, 6)
        v_fwd = (1 - skip) * w_ext[rows, nxt] + skip * w_ext[rows, np.minimum(s + 2, 6)]
        v_back = np.where(s > 0, win[rows, np.maximum(s - 1, 0)], 0.0)
        surv = norm.sf((np.log(age) - np.log(med)) / DWELL_SIGMA)
        surv_lost = norm.sf((np.log(age) - np.log(med * LOST_DWELL_MULTIPLIER)) / DWELL_SIGMA)
        w_fwd, w_back, w_lost = (1 - back) * p * surv, back * surv, (1 - back) * (1 - p) * surv_lost
        return (w_fwd * v_fwd + w_back * v_back) / (w_fwd + w_back + w_lost)

    def expected_visits(self, ch: int, rep: int) -> np.ndarray:
        """Expected number of visits to each open stage for a deal created in prospect, shape [6]."""
        T = self.transition_matrix(ch, rep)
        return np.linalg.inv(np.eye(6) - T[:6, :6])[0]

    def forward_probability(self, ch: int, rep: int) -> np.ndarray:
        """P(the move out of stage i is forward: next stage, a skip, or won), shape [6]."""
        p = self.advance_probability(np.array([ch]), np.array([rep]))[0]
        return (1 - np.array(BACK)) * p
