"""Robustness: seeded corruptions of a small copy of the sample, each read three ways.

Every case ends either in a report that shows the problem (quality rows or rejected rows
beyond the uncorrupted baseline) or in a one-line error (exit code 2 for the CLI); never a
traceback; rows in = clean + rejected + duplicates + merged for every table; and no phone
number or e-mail address from the inputs appears in any file written.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from small_sample import write_small_sample

import salesanalytics as sa
from salesanalytics.clean.core import COUNTS
from salesanalytics.cli import main

PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
#: The look-behind starts a match only where a run of address characters starts: the same
#: matches, found in linear time (without it the 50,000-character cell costs seconds).
EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
SEED = 20260630


def _read(d: Path, t: str) -> pd.DataFrame:
    return pd.read_csv(d / f"{t}.csv", dtype=str, keep_default_na=False)


def _write(df: pd.DataFrame, d: Path, t: str, **kw) -> None:
    df.to_csv(d / f"{t}.csv", index=False, lineterminator="\n", **kw)


def cell(table, column, value, *, where=None):
    """Set one seeded cell (a row chosen by the case's generator, or ``where``)."""

    def apply(d: Path, rng: np.random.Generator) -> None:
        df = _read(d, table)
        rows = df.index if where is None else df.index[where(df)]
        i = rows[int(rng.integers(len(rows)))]
        df.loc[i, column] = value(df.loc[i, column]) if callable(value) else value
        _write(df, d, table)

    return apply


def rows(table, change):
    def apply(d: Path, rng: np.random.Generator) -> None:
        _write(change(_read(d, table), rng), d, table)

    return apply


def raw(table, change, suffix=".csv"):
    """Change the file's bytes (encoding, truncation, layout)."""

    def apply(d: Path, rng: np.random.Generator) -> None:
        p = d / f"{table}.csv"
        data = change(p.read_bytes(), rng)
        p.unlink()
        (d / f"{table}{suffix}").write_bytes(data)

    return apply


def _dup_id(df, rng):
    extra = df.iloc[[int(rng.integers(len(df)))]].copy()
    extra["amount"] = "999.00"
    return pd.concat([df, extra], ignore_index=True)


def _exact_dup(df, rng):
    return pd.concat([df, df.iloc[[int(rng.integers(len(df)))]]], ignore_index=True)


def _truncate_last_line(b, rng):
    body = b.rstrip(b"\n")
    last = body.rfind(b"\n")
    return body[: last + 1 + (len(body) - last) // 3]


def _extra_field(b, rng):
    lines = b.split(b"\n")
    i = 1 + int(rng.integers(len(lines) - 2))
    lines[i] = lines[i].replace(b",", b",extra,", 1)
    return b"\n".join(lines)


def _xlsx(df_bytes_table, truncate=False):
    def change(b, rng):
        import io

        df = pd.read_csv(io.BytesIO(b), dtype=str, keep_default_na=False)
        buf = io.BytesIO()
        df.to_excel(buf, index=False)
        out = buf.getvalue()
        return out[: len(out) // 2] if truncate else out

    return change


WON = lambda df: df["stage"].eq("won")  # noqa: E731
CASES = {
    # cell level
    "date_2300": (cell("opportunities", "created_at", "2300-01-01"), []),
    "date_garbage": (cell("opportunities", "created_at", "not a date"), []),
    "date_now": (cell("opportunities", "created_at", "now"), []),
    "date_today_lead": (cell("leads", "created_at", "today"), []),
    "date_dmy_mixed": (cell("opportunities", "expected_close_date", "31/12/2025"), []),
    "date_excel_serial": (cell("opportunities", "closed_at", "45000"), []),
    "ctrl_char_owner": (
        cell("opportunities", "owner", lambda v: v[:2] + "\x01" + v[2:]),
        [],
    ),
    "zero_width_owner": (
        cell("opportunities", "owner", lambda v: v + "\u200b"),
        [],
    ),
    "emoji_account": (cell("opportunities", "account_name", lambda v: v + " 🚀"), []),
    "negative_amount": (cell("opportunities", "amount", "-5000"), []),
    "text_amount": (cell("opportunities", "amount", "abc"), []),
    "huge_amount": (cell("opportunities", "amount", "1e20"), []),
    "blank_stage": (cell("opportunities", "stage", ""), []),
    "unknown_stage": (cell("opportunities", "stage", "teleported"), []),
    "blank_channel_won": (cell("opportunities", "channel", "", where=WON), []),
    "unknown_channel_lead": (cell("leads", "channel", "unknown"), []),
    "blank_channel_lead": (cell("leads", "channel", ""), []),
    "phone_in_note": (
        cell("opportunities", "loss_reason", "call back 13912345678 please"),
        [],
    ),
    "email_in_note": (
        cell("opportunities", "loss_reason", "wrote to zhang.wei@example.com"),
        [],
    ),
    "email_in_account": (
        cell("opportunities", "account_name", "li.na@example.org"),
        [],
    ),
    "formula_account": (cell("opportunities", "account_name", '=HYPERLINK("x")'), []),
    "long_text": (cell("opportunities", "account_name", "x" * 50_000), []),
    "blank_id": (cell("opportunities", "opportunity_id", ""), []),
    "history_unknown_deal": (cell("stage_history", "opportunity_id", "OPP-99999"), []),
    "history_bad_date": (cell("stage_history", "entered_at", "2024-13-45"), []),
    "lead_converted_maybe": (cell("leads", "converted", "maybe"), []),
    "order_no_amount": (cell("orders", "amount", ""), []),
    "target_bad_period": (cell("targets", "period", "2024年13月"), []),
    # row level
    "duplicate_id_differs": (rows("opportunities", _dup_id), []),
    "exact_duplicate": (rows("opportunities", _exact_dup), []),
    "truncated_last_line": (
        raw("opportunities", lambda b, r: _truncate_last_line(b, r)),
        [],
    ),
    "extra_field": (
        raw("opportunities", lambda b, r: _extra_field(b, r)),
        [],
    ),
    "blank_lines": (raw("leads", lambda b, r: b.replace(b"\n", b"\n\n", 5)), []),
    "comma_only_row": (raw("opportunities", lambda b, r: b + b",,,,,,,\n"), []),
    # header level
    "duplicate_header": (
        raw("opportunities", lambda b, r: b.replace(b",region,", b",amount,", 1)),
        [],
    ),
    "renamed_header": (
        raw("opportunities", lambda b, r: b.replace(b",stage,", b",etapa_xyz,", 1)),
        [],
    ),
    "missing_required": (rows("opportunities", lambda df, r: df.drop(columns="owner")), []),
    "header_spaces_case": (
        raw(
            "opportunities",
            lambda b, r: b.replace(b"opportunity_id,owner", b" Opportunity_ID , OWNER ", 1),
        ),
        [],
    ),
    "no_header_row": (raw("leads", lambda b, r: b.split(b"\n", 1)[1]), []),
    # encoding and file level
    "utf16": (raw("opportunities", lambda b, r: b.decode().encode("utf-16")), []),
    "gbk_chinese": (
        raw(
            "opportunities",
            lambda b, r: (
                b.decode().replace(",won,", ",成交,").replace(",lost,", ",流失,").encode("gbk")
            ),
        ),
        [],
    ),
    "latin1_accents": (
        raw("accounts", lambda b, r: b.decode().replace("Apex", "Äpéx").encode("latin-1")),
        [],
    ),
    "bom_crlf": (raw("leads", lambda b, r: b"\xef\xbb\xbf" + b.replace(b"\n", b"\r\n")), []),
    "semicolons": (
        raw("orders", lambda b, r: b.replace(b",", b";")),
        [],
    ),
    "empty_file": (raw("leads", lambda b, r: b""), []),
    "header_only": (raw("opportunities", lambda b, r: b.split(b"\n", 1)[0] + b"\n"), []),
    "binary_garbage": (
        raw("activities", lambda b, r: bytes(r.integers(0, 256, 2000).tolist())),
        [],
    ),
    "xlsx_as_csv": (raw("targets", _xlsx(None)), []),
    "xlsx_truncated": (raw("targets", _xlsx(None, truncate=True), suffix=".xlsx"), []),
    "table_missing": (lambda d, r: (d / "stage_history.csv").unlink(), []),
}


#: Unusual but valid inputs: read as they are, nothing to report (checked: rows add up,
#: nothing leaks; the formula is neutralised in every CSV written).
BENIGN = {
    "utf16",  # read correctly: nothing to report
    "table_missing",
    "exact_duplicate",
    "gbk_chinese",
    "bom_crlf",
    "emoji_account",
    "formula_account",
    "long_text",
    "blank_lines",
    "latin1_accents",
    "semicolons",
    "xlsx_as_csv",
}


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    return write_small_sample(tmp_path_factory.mktemp("base") / "data", every=20, lead_every=40)


@pytest.fixture(scope="module")
def baseline(base) -> int:
    ds = sa.read_dataset(base)
    return len(ds.quality) + sum(len(r) for r in ds.rejected.values())


def _tokens(folder: Path) -> set[str]:
    out: set[str] = set()
    for p in folder.rglob("*"):
        if p.is_file():
            text = p.read_bytes().decode("utf-8", errors="replace")
            out |= set(PHONE.findall(text)) | set(EMAIL.findall(text))
    return out


def _one_line(text: str) -> bool:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return len(lines) == 1 and "Traceback" not in text


@pytest.mark.parametrize("name", [pytest.param(k, marks=m) for k, (_, m) in CASES.items()])
def test_corruption(name, base, baseline, tmp_path, capsys):
    assert len(CASES) >= 40
    apply, _ = CASES[name]
    data = tmp_path / "data"
    shutil.copytree(base, data)
    apply(data, np.random.default_rng([SEED, list(CASES).index(name)]))
    before = {p.name: p.read_bytes() for p in base.iterdir()}
    after = {p.name: p.read_bytes() for p in data.iterdir()}
    assert before != after, "the corruption changed nothing"
    secrets = _tokens(data)
    out = tmp_path / "out"
    out.mkdir()

    # 1. the command line: a report (exit 0/1) or one line and exit 2
    code = main(["validate", str(data)])
    cap = capsys.readouterr()
    (out / "validate.txt").write_text(cap.out + cap.err, encoding="utf-8")
    assert "Traceback" not in cap.out + cap.err
    assert code in (0, 1, 2)
    if code == 2:
        assert _one_line(cap.err) and cap.err.startswith("error:")

    # 2. the library: a Dataset whose rows add up, or an expected one-line error
    try:
        ds = sa.read_dataset(data)
    except (ValueError, OSError) as exc:
        assert code == 2, "the CLI and the library disagree"
        assert _one_line(str(exc)), str(exc)
        (out / "error.txt").write_text(str(exc), encoding="utf-8")
    else:
        assert code in (0, 1)
        summary = ds.summary()
        for _, r in summary.iterrows():
            assert r["rows_in"] == sum(r[k] for k in COUNTS[1:]), r["table"]
        found = len(ds.quality) + sum(len(r) for r in ds.rejected.values())
        if name not in BENIGN:
            assert (
                found > baseline
                or (summary["rows_in"] == 0).any()
                or (summary["duplicates_dropped"].sum() > 0)
            ), "the problem does not show in the quality report"
        # 3. one light analysis, every output written to disk
        sa.save_table(summary, str(out), "summary")  # csv and xlsx
        sa.save_table(ds.quality, str(out), "quality")
        for t, rej in ds.rejected.items():
            sa.write_csv(rej, out / f"rejected_{t}.csv")
        for t, df in ds.tables.items():
            sa.write_csv(df, out / f"clean_{t}.csv")
        if sa.has_tables(ds, "opportunities"):
            sa.save_table(sa.stage_distribution(ds), str(out), "stage_mix")
        if sa.has_tables(ds, "leads"):
            sa.save_table(sa.conversion_by(ds, by="channel"), str(out), "conversion")

    if name == "formula_account" and (out / "clean_opportunities.csv").exists():
        text = (out / "clean_opportunities.csv").read_text(encoding="utf-8")
        assert "'=HYPERLINK" in text and ",=HYPERLINK" not in text
    leaked = _tokens(out) & secrets
    assert not leaked, f"personal data in the outputs: {sorted(leaked)[:3]}"
