"""Chinese labels in figures render with a real CJK font: no missing-glyph warning."""

from __future__ import annotations

import warnings

import matplotlib
import matplotlib.pyplot as plt
import pandas as pd
import pytest

import salesanalytics as sa
from salesanalytics.report.fonts import cjk_font_path, use_fonts


@pytest.fixture
def restore_rc():
    saved = matplotlib.rcParams.copy()
    yield
    matplotlib.rcParams.update(saved)


def _render(tmp_path, lang):
    summary = pd.DataFrame(
        {"stage": ["prospect", "needs_confirmed", "contract"], "reached": [100, 60, 30]}
    ).assign(conversion=[0.6, 0.5, 0.4])
    fig, ax = plt.subplots(figsize=(4, 2))
    sa.plot_funnel(summary.assign(stage=sa.stage_labels(summary["stage"], lang)), ax=ax)
    ax.set_title("销售漏斗 · 需求確認 · 期末客户数")
    fig.savefig(tmp_path / f"f_{lang}.png")
    plt.close(fig)


def test_font_file_ships_with_mplfonts():
    assert cjk_font_path().name == "NotoSansCJKsc-Regular.otf"
    assert cjk_font_path().stat().st_size > 1_000_000


@pytest.mark.parametrize("lang", ["zh", "zh_hant"])
def test_chinese_figure_has_every_glyph(tmp_path, restore_rc, lang):
    assert use_fonts(lang) == "Noto Sans CJK SC"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Glyph ... missing from font(s)" would raise
        _render(tmp_path, lang)
    assert (tmp_path / f"f_{lang}.png").stat().st_size > 0


def test_without_the_font_glyphs_are_missing(tmp_path, restore_rc):
    # the test above can fail: with the default font the same figure warns
    matplotlib.rcParams["font.sans-serif"] = ["DejaVu Sans"]
    matplotlib.rcParams["font.family"] = "sans-serif"
    with pytest.warns(UserWarning, match="[Gg]lyph"):
        _render(tmp_path, "zh")


def test_english_changes_nothing(restore_rc):
    before = list(matplotlib.rcParams["font.sans-serif"])
    assert use_fonts("en") is None
    assert matplotlib.rcParams["font.sans-serif"] == before
    with pytest.raises(ValueError):
        use_fonts("fr")
