"""Where the dossier's CJK font comes from.

A PDF whose Chinese text has no font is a page of empty boxes (豆腐块), so the PDF is only
built with a real CJK font: `GATEWAY_CJK_FONT` when set, else Noto Sans SC from the pip
package `pylopdf-fonts-zh-cn` (a dependency, so `make run` needs no system package), else
Debian's `fonts-noto-cjk` or WenQuanYi. Without any, the PDF endpoint answers 503 naming
the package to install.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

DEBIAN_FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
)
INSTALL_HINT = (
    "no CJK font found: reinstall the project (`pip install pylopdf-fonts-zh-cn`), install "
    "Debian's fonts-noto-cjk (`apt-get install fonts-noto-cjk`), or point GATEWAY_CJK_FONT at "
    "a TrueType/OpenType font with Chinese glyphs"
)


def _bundled() -> Path | None:
    try:
        import pylopdf_fonts_zh_cn  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        return None
    return Path(pylopdf_fonts_zh_cn.sans_path())


def find_cjk_font(configured: str = "", candidates: tuple[str, ...] | None = None) -> Path | None:
    """The first CJK font file that exists: the configured one, the bundled one, Debian's.
    A configured path that does not exist is an error of its own (None), not skipped."""
    if configured:
        path = Path(configured)
        return path if path.is_file() else None
    for candidate in (_bundled(), *(Path(c) for c in (candidates or DEBIAN_FONTS))):
        if candidate is not None and candidate.is_file():
            return candidate
    return None


@lru_cache(maxsize=8)
def face_index(path: Path) -> int:
    """In a font collection (.ttc), the Simplified Chinese face (Noto Sans CJK SC is not the
    first); 0 for a single font."""
    if path.suffix.lower() not in (".ttc", ".otc"):
        return 0
    from fontTools.ttLib import TTCollection

    with TTCollection(str(path), lazy=True) as collection:
        for index, font in enumerate(collection.fonts):
            family = str(font["name"].getDebugName(1) or "")
            if family.endswith(" SC") or "Micro Hei" in family or "Zen Hei" in family:
                return index
    return 0
