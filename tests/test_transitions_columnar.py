"""Stage transitions on pyarrow-backed columns split in chunks, as a CSV read leaves them.

The columnar path builds each output column at its final type (stages from their funnel
positions, segments through their codes, ids filtered chunk by chunk); these cases pin the
values by hand and check that every column keeps the type of the column it comes from.
"""

import numpy as np
import pandas as pd
import pyarrow as pa

import salesanalytics as sa
from salesanalytics._grouping import id_starts, take_labels, take_rows

AS_OF = "2024-02-29"


def chunked(values, sizes, dtype):
    """A pyarrow-backed string column of ``dtype`` held in chunks of ``sizes``."""
    cuts = np.cumsum([0, *sizes])
    parts = [pa.array(values[a:b], type=pa.large_string()) for a, b in zip(cuts, cuts[1:])]
    return pd.array(pa.chunked_array(parts, type=pa.large_string()), dtype=dtype)


def history(dtype):
    rows = [  # in (deal, time) order, as the cleaned history is
        ("A1", "prospect", "2024-02-01"),
        ("A1", "contacted", "2024-02-03"),  # a chunk ends here, inside deal A1
        ("A1", "won", "2024-02-10"),
        ("A2", "prospect", "2024-02-02"),
        ("A2", "proposal", "2024-02-05"),  # skipped two stages
        ("A2", "contacted", "2024-02-06"),  # moved back; a chunk ends here
        ("A3", "prospect", "2024-02-28 12:00"),
    ]
    ids, stages, times = zip(*rows, strict=True)
    return pd.DataFrame(
        {
            "opportunity_id": chunked(list(ids), [2, 4, 1], dtype),
            "stage": chunked(list(stages), [2, 4, 1], dtype),
            "entered_at": pd.to_datetime(list(times), format="ISO8601").as_unit("ns"),
        }
    )


def opportunities(dtype):  # A3 has no opportunity row; A2 has no owner
    return pd.DataFrame(
        {
            "opportunity_id": chunked(["A1", "A2"], [1, 1], dtype),
            "owner": chunked(["ann", None], [2], dtype),
            "channel": chunked(["web", "partner"], [1, 1], dtype),
            "amount": [100.0, 250.0],
        }
    )


def open_days(entered: str) -> float:
    """Days from ``entered`` to the end of the as_of day (its last microsecond)."""
    end = pd.Timestamp(AS_OF) + pd.Timedelta(days=1) - pd.Timedelta(1, "us")
    return (end - pd.Timestamp(entered)).total_seconds() / 86400.0


def test_chunked_history_values_by_hand():
    for dtype in ("string", "str"):
        t = sa.stage_transitions(
            stage_history=history(dtype),
            opportunities=opportunities(dtype),
            stages="default",
            as_of=AS_OF,
        )
        got = list(
            zip(
                t["opportunity_id"],
                t["stage"],
                t["next_stage"].fillna("-"),
                t["outcome"],
                t["dwell_days"],
                strict=True,
            )
        )
        assert got == [
            ("A1", "prospect", "contacted", "advanced", 2.0),
            ("A1", "contacted", "won", "won", 7.0),
            ("A2", "prospect", "proposal", "skipped", 3.0),
            ("A2", "proposal", "contacted", "regressed", 1.0),
            ("A2", "contacted", "-", "open", open_days("2024-02-06")),
            ("A3", "prospect", "-", "open", open_days("2024-02-28 12:00")),
        ]
        assert t["owner"].isna().tolist() == [False, False, True, True, True, True]
        assert t["channel"].tolist()[:3] == ["web", "web", "partner"]
        assert t["channel"].isna().tolist()[-1] and np.isnan(t["amount"].iloc[-1])
        assert t["order"].tolist() == [0, 1, 0, 3, 1, 0]
        assert t["censored"].tolist() == [False] * 4 + [True, True]


def test_columns_keep_the_type_of_their_source():
    for dtype in ("string", "str"):
        h, o = history(dtype), opportunities(dtype)
        t = sa.stage_transitions(stage_history=h, opportunities=o, stages="default", as_of=AS_OF)
        for col, source in [
            ("opportunity_id", h),
            ("stage", h),
            ("owner", o),
            ("channel", o),
        ]:
            assert t[col].dtype == source[col].dtype, col
            assert t[col].array._pa_array.type == pa.large_string(), col
        assert (t["next_stage"].dtype, t["outcome"].dtype) == ("string", "str")
        assert t["visit"].dtype == "int64" and t["dwell_days"].dtype == "float64"


def test_take_labels_equals_take_rows():
    col = pd.Series(chunked(["b", None, "a", "b", "a", "a"], [4, 2], "string"), name="owner")
    at = np.array([5, -1, 1, 0, 0, 3])
    for fill, positions in ((True, at), (False, np.abs(at))):
        got, want = take_labels(col, positions, fill), take_rows(col, positions, fill)
        assert got.dtype == want.dtype == col.dtype
        assert got.tolist() == want.tolist()
    assert take_labels(col, at, True).isna().tolist() == [False, True, True, False, False, False]


def test_id_starts_by_hand():
    ids = pd.Series(chunked(["a", "a", "b", "b", "b", "c"], [3, 3], "string"))
    assert id_starts(ids).tolist() == [True, False, True, False, False, True]
    assert id_starts(ids.iloc[::-1].reset_index(drop=True)) is None  # not in order
    with_gap = pd.Series(pd.array(["a", None, "b"], dtype="string"))
    assert id_starts(with_gap) is None
