"""The users' password policy (gateway/users/policy.py)."""

from __future__ import annotations

from gateway.users.policy import password_problems
from gateway.users.service import DEMO_USER, DEMO_USER_PASSWORD


def test_long_passwords_without_the_name_pass() -> None:
    assert password_problems("correct horse battery", username="wang.wei", min_length=12) == []
    assert password_problems("x" * 12, username="wang.wei", min_length=12) == []


def test_short_passwords_are_refused_with_the_length_in_the_reason() -> None:
    assert password_problems("x" * 11, username="wang.wei", min_length=12) == [
        ("must be at least 12 characters long", "密码至少需要 12 个字符")
    ]
    assert password_problems("x" * 15, username="wang.wei", min_length=16) != []


def test_the_user_name_may_not_be_the_password_nor_in_it_whatever_the_case() -> None:
    for password in ("office-7f3a9c2e", "OFFICE-7F3A9C2E", "my-Office-7f3a9c2e-pass"):
        assert password_problems(password, username="office-7f3a9c2e", min_length=12) == [
            ("must not contain the user name", "密码不能包含用户名")
        ]
    both = password_problems("wang", username="wang", min_length=12)
    assert len(both) == 2


def test_the_demo_user_keeps_the_policy() -> None:
    assert password_problems(DEMO_USER_PASSWORD, username=DEMO_USER, min_length=12) == []
    assert password_problems("demo-office-password", username=DEMO_USER, min_length=12) != []
