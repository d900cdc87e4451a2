"""The front ends' languages: zh-CN (the default) and English, each table `key: (zh, en)`."""

from __future__ import annotations

from kit.vocabulary import LANGUAGES, language


class Words(dict[str, str]):
    """One table in one language; an unknown key shows itself rather than failing the page."""

    def __missing__(self, key: str) -> str:
        return key


def in_language(tables: dict[str, dict[str, tuple[str, str]]], lang: str) -> dict[str, Words]:
    """Every table in `lang`, for the templates: `t.ui.logout`, `t.stages[zone.stage]`."""
    index = LANGUAGES.index(language(lang))
    return {name: Words({k: v[index] for k, v in table.items()}) for name, table in tables.items()}
