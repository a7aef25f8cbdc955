"""Write data/examples/zh-hant from data/examples/zh-hans (OpenCC s2t); one table as xlsx.

Run from the repository root: ``python data/examples/make_traditional.py``.
"""

from pathlib import Path

import pandas as pd
from opencc_purepy import OpenCC

HERE = Path(__file__).parent
S2T = OpenCC("s2t")
AS_XLSX = {"销售业绩分析表"}  # typed numbers in a workbook, as an analyst's sheet holds them

for src in sorted((HERE / "zh-hans").glob("*.csv")):
    name = S2T.convert(src.stem)
    text = S2T.convert(src.read_text(encoding="utf-8"))
    out = HERE / "zh-hant"
    if src.stem in AS_XLSX:
        df = pd.read_csv(src, dtype=str, keep_default_na=False).map(S2T.convert)
        df.columns = [S2T.convert(c) for c in df.columns]
        for c in df.columns:
            nums = pd.to_numeric(df[c].replace("", None), errors="coerce")
            if nums.notna().sum() == (df[c] != "").sum():
                df[c] = nums
        df.to_excel(out / f"{name}.xlsx", index=False)
    else:
        (out / f"{name}.csv").write_text(text, encoding="utf-8")
