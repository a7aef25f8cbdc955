"""A CJK font for figures: Noto Sans CJK SC from the ``mplfonts`` package when lang is zh."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

__all__ = ["cjk_font_path", "use_fonts"]

CJK_FILE = "NotoSansCJKsc-Regular.otf"


@lru_cache(maxsize=1)
def cjk_font_path() -> Path:
    """Path of NotoSansCJKsc-Regular.otf shipped by ``mplfonts``.

    Raises
    ------
    ImportError
        ``mplfonts`` is not installed (``pip install mplfonts``).
    """
    try:
        path = Path(str(resources.files("mplfonts") / "fonts" / CJK_FILE))
    except ModuleNotFoundError as exc:
        raise ImportError("Chinese labels need the mplfonts package: pip install mplfonts") from exc
    if not path.is_file():
        raise ImportError(f"mplfonts does not ship {CJK_FILE} (looked in {path.parent})")
    return path


def use_fonts(lang: str = "en") -> str | None:
    """Make matplotlib draw ``lang``'s labels: for ``zh``/``zh_hant`` a CJK font first.

    Registers the font file with matplotlib's font manager (no system install, no cache
    rebuild) and puts it first in ``font.sans-serif``, with DejaVu Sans after it for Latin
    glyphs. Returns the font family name, or None for ``en`` (nothing changed).

    Examples
    --------
    >>> use_fonts("zh")
    'Noto Sans CJK SC'
    """
    if lang == "en":
        return None
    if lang not in ("zh", "zh_hant"):
        raise ValueError(f"lang must be 'en', 'zh' or 'zh_hant', got {lang!r}")
    import matplotlib as mpl
    from matplotlib import font_manager

    path = cjk_font_path()
    font_manager.fontManager.addfont(str(path))
    name = font_manager.FontProperties(fname=str(path)).get_name()
    rest = [f for f in mpl.rcParams["font.sans-serif"] if f != name]
    mpl.rcParams["font.family"] = "sans-serif"
    mpl.rcParams["font.sans-serif"] = [name, *rest]
    mpl.rcParams["axes.unicode_minus"] = False
    return name
