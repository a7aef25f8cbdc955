"""Stage configuration: the pipeline's stages are configuration, not code.

A stage config lists the open stages in order (key, en/zh labels, aliases, configured
win probability) and the won and lost terminal stages. Presets live in
``params/stages/*.yaml``: ``default`` (seven-stage funnel), ``salesforce``, ``hubspot``,
``pipedrive``, ``odoo`` and ``maven``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from ._paths import STAGES_DIR
from ._yaml import write_yaml

__all__ = [
    "Stage",
    "StageConfig",
    "load_stages",
    "normalise_label",
    "normalise_grade",
    "to_simplified",
]

_SPACES = re.compile(r"[\s_\-]+")
_GRADE = re.compile(r"^\s*([A-Ea-eSs])\s*(?:级|類|类|grade|等)?\s*$")


@lru_cache(maxsize=1)
def _t2s():
    from opencc_purepy import OpenCC

    return OpenCC("t2s")


@lru_cache(maxsize=65536)
def to_simplified(text: str) -> str:
    """Traditional Chinese script converted to simplified (OpenCC ``t2s``); others unchanged.

    Headers, stage names, grades and file names are matched in simplified script, so a
    file in either script reads the same.

    >>> to_simplified("客戶階段轉化跟蹤表")
    '客户阶段转化跟踪表'
    """
    if text.isascii():
        return text
    return _t2s().convert(text)


def normalise_grade(values: pd.Series) -> pd.Series:
    """Grades as letters: ``S級``, ``A级``, ``a`` -> ``S``, ``A``, ``A``; others unchanged.

    >>> normalise_grade(pd.Series(["S級", "A级", "a", "B类", "hot"])).tolist()
    ['S', 'A', 'A', 'B', 'hot']
    """
    text = values.astype("string")
    simple = text.map(lambda v: to_simplified(v) if isinstance(v, str) else v, na_action="ignore")
    letter = simple.astype("string").str.extract(_GRADE, expand=False).str.upper()
    return letter.fillna(text).where(values.notna()).astype("string")


def normalise_label(value: object) -> str:
    """Case-, width- and separator-insensitive form of a label used for matching.

    >>> normalise_label("  Closed_Won ")
    'closed won'
    """
    text = str(value).replace("\u3000", " ").strip().casefold()
    return _SPACES.sub(" ", text)


@dataclass(frozen=True)
class Stage:
    """One stage: ``kind`` is ``"open"``, ``"won"`` or ``"lost"``; ``order`` its funnel position."""

    key: str
    kind: str
    order: int
    labels: Mapping[str, str] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()
    probability: float | None = None

    def label(self, lang: str = "en") -> str:
        return self.labels.get(lang) or self.labels.get("en") or self.key


@dataclass(frozen=True)
class StageConfig:
    """An ordered pipeline definition with alias resolution.

    Examples
    --------
    >>> cfg = load_stages("default")
    >>> cfg.resolve("需求分析"), cfg.resolve("Closed Won"), cfg.resolve("nonsense")
    ('needs_confirmed', 'won', None)
    >>> cfg.open_keys[:2]
    ('prospect', 'contacted')
    """

    name: str
    stages: tuple[Stage, ...]
    provenance: Mapping[str, Any] = field(default_factory=dict)
    #: Stage a closed deal is taken to have entered at creation when there is no stage
    #: history (default: the first open stage). Maven's export: ``engaging``.
    coarse_entry: str | None = None

    def __post_init__(self) -> None:
        keys = [s.key for s in self.stages]
        if len(set(keys)) != len(keys):
            raise ValueError(f"stage config {self.name!r}: duplicate stage keys {keys}")
        kinds = [s.kind for s in self.stages]
        if kinds.count("won") != 1 or kinds.count("lost") != 1 or "open" not in kinds:
            raise ValueError(
                f"stage config {self.name!r} needs open stages plus exactly one won and one lost"
            )
        lookup: dict[str, str] = {}
        for s in self.stages:
            for name in (s.key, *s.labels.values(), *s.aliases):
                norm = normalise_label(to_simplified(str(name)))
                if lookup.get(norm, s.key) != s.key:
                    raise ValueError(
                        f"stage config {self.name!r}: {name!r} names both {lookup[norm]!r} and {s.key!r}"
                    )
                lookup[norm] = s.key
        object.__setattr__(self, "_lookup", lookup)
        if self.coarse_entry is not None and self.coarse_entry not in self.open_keys:
            raise ValueError(
                f"coarse_entry {self.coarse_entry!r} is not an open stage of {self.name!r}"
            )

    # ----- construction
    @classmethod
    def from_dict(cls, spec: Mapping[str, Any]) -> StageConfig:
        """Build from the YAML structure (``name``, ``open`` list, ``won``, ``lost``)."""
        try:
            open_specs = list(spec["open"])
            terminal = [("won", spec["won"]), ("lost", spec["lost"])]
        except (KeyError, TypeError) as exc:
            raise ValueError(
                f"stage config needs 'open', 'won' and 'lost' entries ({exc})"
            ) from exc
        stages = []
        for i, (kind, s) in enumerate([("open", s) for s in open_specs] + terminal):
            prob = s.get("probability")
            if kind == "won":
                prob = 1.0
            elif kind == "lost":
                prob = 0.0
            if prob is not None and not 0.0 <= float(prob) <= 1.0:
                raise ValueError(f"stage {s['key']!r}: probability {prob} is outside [0, 1]")
            stages.append(
                Stage(
                    key=str(s["key"]),
                    kind=kind,
                    order=i,
                    labels=dict(s.get("labels") or {}),
                    aliases=tuple(str(a) for a in s.get("aliases") or ()),
                    probability=None if prob is None else float(prob),
                )
            )
        return cls(
            str(spec.get("name", "custom")),
            tuple(stages),
            dict(spec.get("provenance") or {}),
            spec.get("coarse_entry"),
        )

    @classmethod
    def from_yaml(cls, path: str | Path) -> StageConfig:
        with open(path, encoding="utf-8") as fh:
            spec = yaml.safe_load(fh)
        from .params import validate_stage_config  # schema check: one line naming file and key

        validate_stage_config(spec, path)
        return cls.from_dict(spec)

    def to_dict(self) -> dict[str, Any]:
        def one(s: Stage) -> dict[str, Any]:
            d: dict[str, Any] = {"key": s.key, "labels": dict(s.labels), "aliases": list(s.aliases)}
            if s.kind == "open":
                d["probability"] = s.probability
            return d

        out: dict[str, Any] = {"name": self.name}
        if self.provenance:
            out["provenance"] = dict(self.provenance)
        if self.coarse_entry:
            out["coarse_entry"] = self.coarse_entry
        out["open"] = [one(s) for s in self.stages if s.kind == "open"]
        out["won"] = one(self.won_stage)
        out["lost"] = one(self.lost_stage)
        return out

    def to_yaml(self, path: str | Path) -> Path:
        """Write the config (with provenance, if any) as YAML and return the path."""
        return write_yaml(self.to_dict(), path)

    def with_probabilities(
        self, probabilities: Mapping[str, float], provenance: Mapping[str, Any] | None = None
    ) -> StageConfig:
        """A copy with new open-stage probabilities (e.g. calibrated ones) and provenance."""
        unknown = set(probabilities) - set(self.open_keys)
        if unknown:
            raise ValueError(f"not open stages of {self.name!r}: {sorted(unknown)}")
        stages = tuple(
            replace(s, probability=float(probabilities[s.key])) if s.key in probabilities else s
            for s in self.stages
        )
        return StageConfig(
            self.name, stages, dict(provenance or self.provenance), self.coarse_entry
        )

    # ----- queries
    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(s.key for s in self.stages)

    @property
    def open_keys(self) -> tuple[str, ...]:
        return tuple(s.key for s in self.stages if s.kind == "open")

    @property
    def won_stage(self) -> Stage:
        return next(s for s in self.stages if s.kind == "won")

    @property
    def lost_stage(self) -> Stage:
        return next(s for s in self.stages if s.kind == "lost")

    @property
    def won(self) -> str:
        return self.won_stage.key

    @property
    def lost(self) -> str:
        return self.lost_stage.key

    def __getitem__(self, key: str) -> Stage:
        for s in self.stages:
            if s.key == key:
                return s
        raise KeyError(f"{key!r} is not a stage of {self.name!r}; stages: {list(self.keys)}")

    def resolve(self, value: object) -> str | None:
        """The stage key that ``value`` names (key, label or alias), or ``None``."""
        if value is None or (isinstance(value, float) and value != value):
            return None
        key = normalise_label(to_simplified(str(value)))
        return self._lookup.get(key)  # type: ignore[attr-defined]

    def map(self, values: pd.Series) -> pd.Series:
        """Resolve a Series of stage names; unknown names become missing."""
        uniques = pd.Series(values.dropna().unique())
        table = {u: self.resolve(u) for u in uniques}
        return values.map(table).astype("string")

    def status(self, keys: pd.Series) -> pd.Series:
        """``open`` / ``won`` / ``lost`` for a Series of stage keys."""
        kinds = {s.key: s.kind for s in self.stages}
        return keys.map(kinds).astype("string")

    @property
    def probabilities(self) -> pd.Series:
        """Configured win probability per stage key (won 1, lost 0)."""
        return pd.Series(
            {s.key: s.probability for s in self.stages}, name="probability", dtype=float
        )

    def to_frame(self, lang: str = "en") -> pd.DataFrame:
        """One row per stage: key, kind, order, label (in ``lang``), probability."""
        return pd.DataFrame(
            {
                "stage": [s.key for s in self.stages],
                "kind": [s.kind for s in self.stages],
                "order": [s.order for s in self.stages],
                "label": [s.label(lang) for s in self.stages],
                "probability": [s.probability for s in self.stages],
            }
        )


def available_presets() -> list[str]:
    return sorted(p.stem for p in STAGES_DIR.glob("*.yaml"))


def load_stages(stages: str | Path | StageConfig | Mapping[str, Any] | None = None) -> StageConfig:
    """Load a stage config by preset name, YAML path, mapping, or pass one through.

    Parameters
    ----------
    stages
        ``None`` (the default seven-stage funnel), a preset name (``"salesforce"``,
        ``"hubspot"``, ``"pipedrive"``, ``"odoo"``, ``"maven"``), a path to a YAML file,
        a dict of the same shape, or a ``StageConfig``.

    Examples
    --------
    >>> load_stages("maven").open_keys
    ('prospecting', 'engaging')
    """
    if stages is None:
        stages = "default"
    if isinstance(stages, StageConfig):
        return stages
    if isinstance(stages, Mapping):
        return StageConfig.from_dict(stages)
    path = Path(stages)
    if path.suffix.lower() in (".yaml", ".yml") or path.exists():
        if not path.exists():
            raise FileNotFoundError(f"stage config file not found: {path}")
        return StageConfig.from_yaml(path)
    preset = STAGES_DIR / f"{stages}.yaml"
    if not preset.exists():
        raise ValueError(f"unknown stage preset {str(stages)!r}; presets: {available_presets()}")
    return StageConfig.from_yaml(preset)
