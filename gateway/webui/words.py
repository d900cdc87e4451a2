"""The front ends' languages: zh-CN (the default) and English, each table `key: (zh, en)`."""

from __future__ import annotations

from kit.vocabulary import LANGUAGES, language

# The words both front ends show alike: the chrome, signing in and out, paging, errors.
COMMON: dict[str, tuple[str, str]] = {
    "switch_language": ("English", "中文"),
    "logout": ("退出登录", "Log out"),
    "signed_in_as": ("当前用户", "Signed in as"),
    "china_time": ("时间均为北京时间", "Times are China time (Asia/Shanghai)"),
    "unavailable_detail": ("该部分暂时不可用：", "This part is not available right now: "),
    "none": ("暂无", "None"),
    "next_page": ("下一页", "Next page"),
    "first_page": ("第一页", "First page"),
    "error_title": ("出错了", "Something went wrong"),
    "action_failed": ("操作未成功：", "The action did not succeed: "),
    "csrf_failed": (
        "表单已过期，请刷新页面后重试",
        "The form has expired; reload the page and try again",
    ),
    "username": ("用户名", "Username"),
    "password": ("密码", "Password"),
    "login": ("登录", "Sign in"),
    "login_failed": ("用户名或密码错误", "Unknown user or wrong password"),
    "login_unavailable": ("登录服务暂时不可用，请稍后再试", "Sign-in is unavailable; retry later"),
    "session_expired": ("登录已过期，请重新登录", "Your session has expired; sign in again"),
    "logged_out": ("已退出登录", "You are signed out"),
}


class Words(dict[str, str]):
    """One table in one language; an unknown key shows itself rather than failing the page."""

    def __missing__(self, key: str) -> str:
        return key


def in_language(tables: dict[str, dict[str, tuple[str, str]]], lang: str) -> dict[str, Words]:
    """Every table in `lang`, for the templates: `t.ui.logout`, `t.stages[zone.stage]`."""
    index = LANGUAGES.index(language(lang))
    return {name: Words({k: v[index] for k, v in table.items()}) for name, table in tables.items()}
