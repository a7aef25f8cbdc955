"""A large synthetic opportunity and stage history generated inside DuckDB (SQL, no pandas).

For benchmarks and the engine tests: millions of stage rows are written straight into a
DuckDB file. Randomness comes from ``hash(row, draw, seed)``, so a seed gives the same
tables on every run and every machine thread count.
"""

from __future__ import annotations

from pathlib import Path

from ..stages import load_stages

__all__ = ["generate_duckdb"]

CHANNELS = ("website", "referral", "partner", "event", "outbound", "ads")
REGIONS = ("North", "South", "East", "West")


def generate_duckdb(
    path: str | Path,
    n_opportunities: int,
    *,
    seed: int = 1,
    start: str = "2023-01-01",
    span_days: int = 1260,
    reps: int = 40,
    threads: int = 2,
) -> dict[str, int]:
    """Write ``opportunities`` and ``stage_history`` tables into the DuckDB file ``path``.

    Each deal is created within ``span_days`` after ``start``, climbs the default config's
    open stages one by one (about ``n_opportunities`` x 4.3 stage rows), then is won (only
    from the proposal stage on), lost, or still open. Returns the row counts.

    Examples
    --------
    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "crm.duckdb")
    >>> generate_duckdb(p, 1000)["opportunities"]
    1000
    """
    import duckdb

    cfg = load_stages("default")
    keys = list(cfg.open_keys)
    n_open = len(keys)
    seed = int(seed)
    stage_list = "[" + ", ".join(f"'{k}'" for k in keys) + "]"
    channels = "[" + ", ".join(f"'{c}'" for c in CHANNELS) + "]"
    regions = "[" + ", ".join(f"'{r}'" for r in REGIONS) + "]"
    path = Path(path)
    if path.exists():
        path.unlink()
    con = duckdb.connect(str(path), config={"threads": str(threads)})
    try:
        con.execute(
            f"CREATE TEMP MACRO u(i, k) AS (hash(i, k, {seed}) % 1000000) / 1000000.0;"
            f"CREATE TEMP MACRO mins(d) AS to_minutes(CAST(round(d * 1440) AS BIGINT));"
        )
        con.execute(
            f"""
            CREATE TEMP TABLE deals AS
            SELECT
              i,
              TIMESTAMP '{start}' + mins(u(i, 1) * {span_days}) AS created_at,
              CAST(floor(u(i, 2) * {n_open}) AS INTEGER) AS top,
              CASE WHEN u(i, 3) < 0.15 THEN 'open'
                   WHEN floor(u(i, 2) * {n_open}) >= 3 AND u(i, 4) < 0.55 THEN 'won'
                   ELSE 'lost' END AS fate,
              1 + u(i, 5) * 20 AS step,
              {channels}[1 + CAST(floor(u(i, 6) * {len(CHANNELS)}) AS INTEGER)] AS channel,
              {regions}[1 + CAST(floor(u(i, 7) * {len(REGIONS)}) AS INTEGER)] AS region,
              'Rep ' || lpad(CAST(1 + CAST(floor(u(i, 8) * {reps}) AS INTEGER) AS VARCHAR), 3, '0')
                AS owner,
              round(1000 + u(i, 9) * 49000, 0) AS amount
            FROM range({int(n_opportunities)}) t(i)
            """
        )
        con.execute(
            f"""
            CREATE TABLE stage_history AS
            SELECT 'OPP-' || lpad(CAST(i AS VARCHAR), 9, '0') AS opportunity_id,
                   {stage_list}[1 + j] AS stage,
                   created_at + mins(j * step + CASE WHEN j > 0 THEN u(i, 10 + j) * 0.9
                                                     ELSE 0 END) AS entered_at,
                   owner, amount
            FROM deals, range(0, top + 1) s(j)
            UNION ALL
            SELECT 'OPP-' || lpad(CAST(i AS VARCHAR), 9, '0'), fate,
                   created_at + mins((top + 1) * step + u(i, 9) * 0.9), owner, amount
            FROM deals WHERE fate <> 'open'
            """
        )
        con.execute(
            f"""
            CREATE TABLE opportunities AS
            SELECT 'OPP-' || lpad(CAST(i AS VARCHAR), 9, '0') AS opportunity_id,
                   owner, created_at,
                   CASE WHEN fate = 'open' THEN {stage_list}[1 + top] ELSE fate END AS stage,
                   amount, channel, region, 'Team ' || region AS team,
                   CASE WHEN fate = 'open' THEN NULL
                        ELSE created_at + mins((top + 1) * step + u(i, 9) * 0.9) END
                     AS closed_at
            FROM deals
            """
        )
        counts = {
            t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("opportunities", "stage_history")
        }
    finally:
        con.close()
    return counts
