"""Estimators behind the calibration: competing risks with censoring, and shrinkage."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["CompetingRisks", "aalen_johansen", "aalen_johansen_sorted", "shrink"]


@dataclass
class CompetingRisks:
    """Aalen-Johansen estimate: all-cause survival and cumulative incidence per event kind."""

    times: np.ndarray
    surv: np.ndarray
    cif: dict[str, np.ndarray]
    n: float

    def _idx(self, t) -> np.ndarray:
        return np.searchsorted(self.times, np.asarray(t, float), side="right") - 1

    def survival_at(self, t) -> np.ndarray:
        i = self._idx(t)
        return np.where(i >= 0, self.surv[np.maximum(i, 0)], 1.0)

    def cif_at(self, kind: str, t) -> np.ndarray:
        i = self._idx(t)
        c = self.cif[kind]
        return np.where(i >= 0, c[np.maximum(i, 0)], 0.0) if len(c) else np.zeros(np.shape(t))

    def final(self, kind: str) -> float:
        return float(self.cif[kind][-1]) if len(self.times) else 0.0

    @property
    def resolved(self) -> float:
        """Share of the population whose event is observed by the end of follow-up."""
        return float(1.0 - self.surv[-1]) if len(self.times) else 0.0


def aalen_johansen(
    durations, kinds, names: tuple[str, ...], weights=None, entry=None
) -> CompetingRisks:
    """Cumulative incidence of competing events with right-censoring (``kinds`` None = censored).

    ``entry`` (left truncation): the duration at which each subject starts being observed,
    for period estimates that use only what happened in a recent calendar window.

    >>> cr = aalen_johansen([1, 2, 3, 4], ["won", None, "lost", "won"], ("won", "lost"))
    >>> round(cr.final("won"), 4), round(cr.final("lost"), 4)
    (0.625, 0.375)
    """
    d = np.asarray(durations, float)
    k = np.asarray(kinds, dtype=object)
    w = np.ones(len(d)) if weights is None else np.asarray(weights, float)
    if len(d) == 0:
        return CompetingRisks(np.array([]), np.array([]), {n: np.array([]) for n in names}, 0.0)
    times, inv = np.unique(d, return_inverse=True)
    total = np.bincount(inv, weights=w, minlength=len(times))
    removed_before = np.concatenate([[0.0], np.cumsum(total)[:-1]])
    if entry is None:
        at_risk = w.sum() - removed_before
    else:  # at risk at t: entered before t and not yet out
        e = np.asarray(entry, float)
        order = np.argsort(e, kind="mergesort")
        entered = np.concatenate([[0.0], np.cumsum(w[order])])[
            np.searchsorted(e[order], times, side="left")
        ]
        at_risk = entered - removed_before
    d_k = {n: np.bincount(inv, weights=w * (k == n), minlength=len(times)) for n in names}
    return _estimate(times, at_risk, d_k, float(w.sum()))


def _estimate(times, at_risk, d_k: dict, n: float) -> CompetingRisks:
    """The Aalen-Johansen recursion from the events and the population at risk per time."""
    d_all = sum(d_k.values())
    keep = d_all > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        hazard = np.where(at_risk > 0, d_all / at_risk, 0.0)
    surv = np.cumprod(1.0 - hazard)
    surv_before = np.concatenate([[1.0], surv[:-1]])
    cif = {
        k: np.cumsum(
            np.where(at_risk > 0, surv_before * d / np.where(at_risk > 0, at_risk, 1), 0.0)
        )
        for k, d in d_k.items()
    }
    return CompetingRisks(times[keep], surv[keep], {k: c[keep] for k, c in cif.items()}, n)


def aalen_johansen_sorted(
    durations: np.ndarray,
    codes: np.ndarray,
    names: tuple[str, ...],
    weights: np.ndarray | None,
    total_weight: float,
    entry: np.ndarray | None,
    entry_weights: np.ndarray | None,
) -> CompetingRisks:
    """:func:`aalen_johansen` on input already sorted, with the kinds as integer codes.

    The same numbers as ``aalen_johansen(d, kinds, names, w, e)`` (bit for bit) when
    ``durations`` are ``d`` sorted by a stable sort (``codes`` and ``weights`` in that order;
    code ``i + 1`` means ``names[i]``, 0 censored), ``total_weight`` is ``w.sum()`` in the
    original order, and ``entry`` / ``entry_weights`` are ``e`` and ``w`` in the order of a
    stable sort of ``e`` (``entry=None``: no delayed entry). ``weights=None``: every subject
    weighs 1 (then any sort will do: sums of ones are exact in any order). It skips the
    sorting and the comparisons of text, which dominate when one population is split many
    ways.
    """
    n = len(durations)
    if n == 0:
        return CompetingRisks(np.array([]), np.array([]), {k: np.array([]) for k in names}, 0.0)
    new = np.empty(n, bool)
    new[0] = True
    np.not_equal(durations[1:], durations[:-1], out=new[1:])
    times = durations[new]
    inv = np.cumsum(new) - 1
    m = len(times)
    width = len(names) + 1
    if weights is None and codes.min() >= 0 and codes.max() < width:
        # counts per (time, kind) in one pass; exact in floats
        both = np.bincount(inv * width + codes, minlength=m * width).reshape(m, width)
        total = both.sum(axis=1).astype(float)
        d_k = {k: both[:, i + 1].astype(float) for i, k in enumerate(names)}
    else:
        weights = np.ones(n) if weights is None else weights
        total = np.bincount(inv, weights=weights, minlength=m)
        d_k = {
            k: np.bincount(inv, weights=weights * (codes == i + 1), minlength=m)
            for i, k in enumerate(names)
        }
    removed_before = np.concatenate([[0.0], np.cumsum(total)[:-1]])
    if entry is None:
        at_risk = total_weight - removed_before
    elif entry_weights is None:
        at_risk = np.searchsorted(entry, times, side="left").astype(float) - removed_before
    else:
        entered = np.concatenate([[0.0], np.cumsum(entry_weights)])[
            np.searchsorted(entry, times, side="left")
        ]
        at_risk = entered - removed_before
    return _estimate(times, at_risk, d_k, float(total_weight))


def shrink(
    wins: np.ndarray,
    n: np.ndarray,
    prior: float,
    *,
    alpha: float = 0.05,
    kappa: float | None = None,
):
    """Beta-binomial empirical Bayes: segment rates pulled toward their parent rate ``prior``.

    The prior's concentration ``kappa`` is estimated by the method of moments from the
    spread of the segment rates beyond binomial noise (or given). Small segments move most.

    Returns
    -------
    (posterior mean, lower, upper, kappa)
    """
    from scipy import stats

    wins, n = np.asarray(wins, float), np.asarray(n, float)
    prior = float(np.clip(prior, 1e-6, 1 - 1e-6))
    if kappa is None:
        ok = n > 0
        rates = wins[ok] / n[ok]
        if ok.sum() >= 2:
            between = np.average((rates - prior) ** 2, weights=n[ok]) - np.average(
                rates * (1 - rates) / n[ok], weights=n[ok]
            )
        else:
            between = 0.0
        kappa = prior * (1 - prior) / between - 1 if between > 1e-9 else 1e4
        kappa = float(np.clip(kappa, 1.0, 1e4))
    a = kappa * prior + wins
    b = kappa * (1 - prior) + (n - wins)
    mean = a / (a + b)
    lo = stats.beta.ppf(alpha / 2, a, b)
    hi = stats.beta.ppf(1 - alpha / 2, a, b)
    return mean, lo, hi, kappa
