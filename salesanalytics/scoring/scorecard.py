"""Weighted scorecards defined in YAML: dimensions, banded rules, weights, tiers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from .._paths import PARAMS_DIR
from .._yaml import write_yaml
from ..clean import values as V

__all__ = ["Dimension", "Scorecard", "load_scorecard", "LEAKY_FIELDS"]

#: Fields filled in after the outcome (by staff after contact, or the outcome itself): refused
#: as scorecard inputs unless explicitly allowed.
LEAKY_FIELDS = (
    "lead_quality",
    "Lead Quality",
    "Tags",
    "Lead Profile",
    "Asymmetrique Activity Index",
    "Asymmetrique Profile Index",
    "Asymmetrique Activity Score",
    "Asymmetrique Profile Score",
    "converted",
    "converted_at",
    "opportunity_id",
    "status",
    "closed_at",
    "close_amount",
    "loss_reason",
    "Converted",
)


@dataclass(frozen=True)
class Dimension:
    """One scored dimension: a column, its rule (numeric bands or a value map) and a weight.

    ``bands``: ordered ``(below, points)`` pairs, the first whose ``below`` exceeds the value
    wins; a last pair with ``below=None`` catches the rest. ``mapping``: value -> points,
    matched case-insensitively (booleans accept yes/no/1/0/是/否). ``default``: points when the
    value is missing or matches nothing.
    """

    name: str
    column: str
    weight: float
    bands: tuple[tuple[float | None, float], ...] = ()
    mapping: Mapping[str, float] = field(default_factory=dict)
    default: float = 0.0
    kind: str = "number"  # number | category | bool

    def points(self, values: pd.Series) -> pd.Series:
        if self.kind == "number":
            x = (
                V.parse_number(values).values
                if not pd.api.types.is_numeric_dtype(values)
                else values.astype(float)
            )
            out = pd.Series(np.nan, index=values.index)
            for below, pts in self.bands:
                hit = out.isna() & x.notna() & ((x < below) if below is not None else True)
                out[hit] = pts
            return out.fillna(self.default)
        if self.kind == "bool":
            b = V.parse_bool(
                values.astype("string") if not pd.api.types.is_bool_dtype(values) else values
            ).values
            m = {str(k).casefold(): v for k, v in self.mapping.items()}
            t, f = m.get("true", m.get("yes", 100.0)), m.get("false", m.get("no", 0.0))
            return b.map({True: t, False: f}).astype(float).fillna(self.default)
        m = {str(k).casefold(): float(v) for k, v in self.mapping.items()}
        key = values.astype("string").str.strip().str.casefold()
        return key.map(m).astype(float).fillna(self.default)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "name": self.name,
            "column": self.column,
            "weight": round(float(self.weight), 2),
            "kind": self.kind,
        }
        if self.bands:
            d["bands"] = [
                ({"below": b} if b is not None else {}) | {"points": p} for b, p in self.bands
            ]
        if self.mapping:
            d["map"] = dict(self.mapping)
        d["default"] = self.default
        return d


@dataclass(frozen=True)
class Scorecard:
    """Dimensions with weights (summing to 100) and tier thresholds on the 0-100 total.

    Examples
    --------
    >>> card = Scorecard.from_yaml("lead_sabc")
    >>> leads = pd.DataFrame({"company_size": [800], "budget_fit": [5], "urgency": [4],
    ...                       "decision_maker_engaged": ["yes"]})
    >>> card.score(leads)[["score", "tier"]].values.tolist()
    [[90.0, 'S']]
    """

    name: str
    dimensions: tuple[Dimension, ...]
    tiers: tuple[tuple[str, float], ...]  # (tier, minimum score), best first
    description: str = ""
    provenance: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        total = sum(d.weight for d in self.dimensions)
        if self.dimensions and abs(total - 100) > 0.5:
            raise ValueError(f"scorecard {self.name!r}: weights sum to {total:g}, not 100")
        mins = [m for _, m in self.tiers]
        if mins != sorted(mins, reverse=True):
            raise ValueError(
                f"scorecard {self.name!r}: tiers must go from the highest minimum down"
            )

    @classmethod
    def from_dict(cls, spec: Mapping[str, Any], *, source: str | Path = "scorecard") -> Scorecard:
        """Build from the YAML structure, validated first (see ``validate_scorecard``)."""
        from ..params import validate_scorecard

        validate_scorecard(spec, source)
        dims = []
        for d in spec["dimensions"]:
            kind = d.get("kind") or ("number" if "bands" in d else "category")
            bands = tuple((b.get("below"), float(b["points"])) for b in d.get("bands", ()))
            dims.append(
                Dimension(
                    d.get("name", d["column"]),
                    d["column"],
                    float(d["weight"]),
                    bands,
                    {str(k): float(v) for k, v in (d.get("map") or {}).items()},
                    float(d.get("default", 0.0)),
                    kind,
                )
            )
        tiers = tuple((str(t["tier"]), float(t["min"])) for t in spec["tiers"])
        return cls(
            str(spec.get("name", "scorecard")),
            tuple(dims),
            tiers,
            str(spec.get("description", "")),
            dict(spec.get("provenance") or {}),
        )

    @classmethod
    def from_yaml(cls, path: str | Path) -> Scorecard:
        """A YAML file, or the name of a preset in ``params/scorecards``."""
        p = Path(path)
        if not p.suffix and not p.exists():
            p = PARAMS_DIR / "scorecards" / f"{path}.yaml"
        if not p.exists():
            presets = sorted(q.stem for q in (PARAMS_DIR / "scorecards").glob("*.yaml"))
            raise FileNotFoundError(f"scorecard {str(path)!r} not found; presets: {presets}")
        try:
            spec = yaml.safe_load(p.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise ValueError(f"{p}: not valid YAML ({str(exc).splitlines()[0]})") from None
        return cls.from_dict(spec, source=p)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "description": self.description}
        if self.provenance:
            out["provenance"] = dict(self.provenance)
        out["dimensions"] = [d.to_dict() for d in self.dimensions]
        out["tiers"] = [{"tier": t, "min": m} for t, m in self.tiers]
        return out

    def to_yaml(self, path: str | Path) -> Path:
        """Write the scorecard (with provenance, if any) as YAML and return the path."""
        return write_yaml(self.to_dict(), path)

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(d.column for d in self.dimensions)

    def with_weights(
        self,
        weights: Mapping[str, float],
        *,
        name: str | None = None,
        tiers: tuple[tuple[str, float], ...] | None = None,
        description: str | None = None,
        provenance: Mapping[str, Any] | None = None,
    ) -> Scorecard:
        """A copy with new dimension weights (and, when given, a new name, tiers, ...)."""
        dims = tuple(replace(d, weight=float(weights[d.name])) for d in self.dimensions)
        given = {"name": name, "tiers": tiers, "description": description, "provenance": provenance}
        return replace(self, dimensions=dims, **{k: v for k, v in given.items() if v is not None})

    def points(self, df: pd.DataFrame) -> pd.DataFrame:
        """Points (0-100) per dimension, one column per dimension name."""
        missing = [d.column for d in self.dimensions if d.column not in df.columns]
        if missing:
            raise KeyError(f"scorecard {self.name!r} needs column(s) {missing}")
        return pd.DataFrame(
            {d.name: d.points(df[d.column]) for d in self.dimensions}, index=df.index
        )

    def score(self, df: pd.DataFrame) -> pd.DataFrame:
        """Per-dimension points, weighted contributions, total ``score`` (0-100) and ``tier``."""
        pts = self.points(df)
        contrib = pd.DataFrame(
            {f"{d.name}_contribution": pts[d.name] * d.weight / 100 for d in self.dimensions}
        )
        out = pd.concat([pts.add_prefix("points_"), contrib], axis=1)
        out["score"] = contrib.sum(axis=1).round(6)
        out["tier"] = self.tier_of(out["score"])
        return out

    def tier_of(self, score: pd.Series) -> pd.Series:
        labels = [t for t, _ in self.tiers]
        conds = [score >= m for _, m in self.tiers]
        return pd.Series(
            np.select(conds, labels, default=labels[-1]), index=score.index, dtype="string"
        )

    def tier(self, df: pd.DataFrame) -> pd.Series:
        """The tier of each row (first tier whose minimum the score reaches)."""
        return self.score(df)["tier"]


def load_scorecard(card: str | Path | Scorecard | Mapping) -> Scorecard:
    if isinstance(card, Scorecard):
        return card
    if isinstance(card, Mapping):
        return Scorecard.from_dict(card)
    return Scorecard.from_yaml(card)
