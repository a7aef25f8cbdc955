"""Writing configuration as readable YAML (key order kept, Chinese labels as is)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

__all__ = ["write_yaml"]


def write_yaml(data: dict[str, Any], path: str | Path) -> Path:
    """Write ``data`` to ``path`` (folders created) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path
