"""The SSRF guard: webhooks may not target loopback, link-local, private, reserved or cloud
metadata addresses unless the operator's allow-list names the host or its network."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

from kit.problem_text import BilingualError

METADATA: set[ipaddress.IPv4Address | ipaddress.IPv6Address] = {
    ipaddress.ip_address("169.254.169.254"),
    ipaddress.ip_address("fd00:ec2::254"),
}
METADATA.add(ipaddress.ip_address("100.100.100.200"))  # Alibaba Cloud's
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
log = logging.getLogger(__name__)
# What a subscriber is told: not how the host resolves, nor whether it resolves at all (an
# answer that differed would map the internal network for anyone who may subscribe). The
# operator's log has the detail.
NOT_ALLOWED = "the host {host} is not an address webhooks may target; an operator may allow it"
NOT_ALLOWED_ZH = "主机 {host} 不是 webhook 可以投递的地址；如确需使用，请联系运维人员加入允许列表"
Networks = list[ipaddress.IPv4Network | ipaddress.IPv6Network]


class Refused(BilingualError):
    """The URL may not be used; the message says why, in English and (`zh`) in Chinese."""


def allow_list(raw: str) -> tuple[set[str], Networks]:
    """`NOTIFY_WEBHOOK_ALLOW` parsed: host names and networks."""
    hosts: set[str] = set()
    networks: Networks = []
    for item in (i.strip() for i in raw.split(",")):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            hosts.add(item.lower())
    return hosts, networks


def forbidden(address: Address) -> str | None:
    """Why an address may not be targeted, or None: anything not globally routable (this
    includes carrier-grade NAT, 100.64.0.0/10), metadata addresses, and IPv6 forms that
    wrap an IPv4 one (mapped, 6to4, Teredo) judged by the address they wrap."""
    if address in METADATA:
        return "a cloud metadata address"
    if isinstance(address, ipaddress.IPv6Address):
        wrapped = address.ipv4_mapped or address.sixtofour or (address.teredo or (None, None))[1]
        if wrapped is not None:
            return forbidden(wrapped)
    for reason, flag in (
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("private", address.is_private),
        ("multicast", address.is_multicast),
        ("reserved", address.is_reserved),
        ("unspecified", address.is_unspecified),
        ("non-public", not address.is_global),
    ):
        if flag:
            return f"a {reason} address"
    return None


def refusal(address: Address, networks: Networks) -> str | None:
    """`forbidden`, unless the allow-list's networks hold the address."""
    if any(address in network for network in networks):
        return None
    return forbidden(address)


class GuardedResolver(AbstractResolver):
    """aiohttp's resolver, keeping only addresses the guard permits: the address checked is
    the address connected to, so a DNS answer that changes after the check (rebinding)
    cannot reach an internal host."""

    def __init__(self, allow: str):
        self._inner = ThreadedResolver()
        self._hosts, self._networks = allow_list(allow)

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        if host.lower() in self._hosts:
            return results
        kept = [
            r for r in results if refusal(ipaddress.ip_address(r["host"]), self._networks) is None
        ]
        if not kept:
            raise OSError(f"{host} resolves only to addresses webhooks may not target")
        return kept

    async def close(self) -> None:
        await self._inner.close()


def check_url(url: str, *, require_https: bool) -> tuple[str, int]:
    """Shape checks without the network: scheme, host, no credentials. Returns host, port."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http"):
        raise Refused("the URL must be http(s)", "webhook 地址必须以 http:// 或 https:// 开头")
    if require_https and parts.scheme != "https":
        raise Refused(
            "webhooks must use https in this profile", "在当前环境中 webhook 必须使用 https"
        )
    if not parts.hostname:
        raise Refused("the URL has no host", "webhook 地址缺少主机名")
    if parts.username or parts.password:
        raise Refused(
            "credentials do not belong in a webhook URL", "webhook 地址中不能包含用户名或密码"
        )
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise Refused("the URL's port is not a number", "webhook 地址的端口不是数字") from exc
    return parts.hostname.lower(), port


async def check_target(url: str, *, require_https: bool, allow: str) -> None:
    """Refuse a URL whose host resolves to a forbidden address (every address it resolves
    to is checked), unless the allow-list names the host or the address's network."""
    host, port = check_url(url, require_https=require_https)
    hosts, networks = allow_list(allow)
    if host in hosts:
        return
    try:
        literal: Address | None = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [literal]
    else:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
        except (OSError, UnicodeError) as exc:
            log.info("webhook host %s refused: it does not resolve (%r)", host, exc)
            raise Refused(NOT_ALLOWED.format(host=host), NOT_ALLOWED_ZH.format(host=host)) from exc
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    for address in addresses:
        reason = refusal(address, networks)
        if reason:
            log.info("webhook host %s refused: %s is %s", host, address, reason)
            raise Refused(NOT_ALLOWED.format(host=host), NOT_ALLOWED_ZH.format(host=host))
