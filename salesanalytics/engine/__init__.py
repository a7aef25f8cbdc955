"""The engine layer: stage-history aggregations pushed down to DuckDB, Spark or a warehouse.

Importing this package is cheap: Ibis and the backends load only when a connection is made.
"""

from .connect import (
    ENGINE_THRESHOLD_BYTES,
    EngineDataset,
    choose_engine,
    connect,
    is_engine,
    read_engine_dataset,
    resolve_url,
)

__all__ = [
    "ENGINE_THRESHOLD_BYTES",
    "EngineDataset",
    "choose_engine",
    "connect",
    "is_engine",
    "read_engine_dataset",
    "resolve_url",
]
