"""The code scan the browser tests run on rendered pages (tests/helpers.codes_shown): what it
counts as a code shown, and what it leaves alone (paths, URLs, actors' ids)."""

from __future__ import annotations

from tests.helpers import codes_shown

CODES, ZONES = {"kickoff_meeting", "investigating", "commerce"}, {"toys-provincial"}


def test_the_code_scan_reads_chinese_and_english_pages_alike() -> None:
    for chinese in (True, False):  # `_` and zone codes are caught on a page of either language
        assert codes_shown("任务 kickoff_meeting", CODES, ZONES, chinese=chinese) == {
            "kickoff_meeting"
        }
        assert codes_shown("示范区 toys-provincial", CODES, ZONES, chinese=chinese) == {
            "toys-provincial"
        }
        # … but not in a path, a URL or an actor's id
        text = "GET /v1/zones/toys-provincial user:kickoff_meeting https://x/kickoff_meeting"
        assert codes_shown(text, CODES, ZONES, chinese=chinese) == set()
    assert codes_shown("状态 investigating", CODES, ZONES, chinese=True) == {"investigating"}
    assert codes_shown("Investigating", CODES, ZONES, chinese=False) == set()
