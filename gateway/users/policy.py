"""The password policy for users (等保 2.0: 身份鉴别, passwords of sufficient complexity)."""

from __future__ import annotations


def password_problems(password: str, *, username: str, min_length: int) -> list[tuple[str, str]]:
    """Why `password` may not be `username`'s password, each reason as (English, Chinese);
    empty when it may."""
    reasons = []
    if len(password) < min_length:
        reasons.append(
            (f"must be at least {min_length} characters long", f"密码至少需要 {min_length} 个字符")
        )
    if username and username.casefold() in password.casefold():
        reasons.append(("must not contain the user name", "密码不能包含用户名"))
    return reasons
