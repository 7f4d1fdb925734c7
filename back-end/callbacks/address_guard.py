"""Which callback URLs the API may post to: http(s) only, and only to public addresses unless allowed.

A callback URL is the client's, so without this guard it would let any user make the API reach what only the API
can reach (cloud metadata at 169.254.169.254, Redis on 127.0.0.1, the private network). Every address a host
resolves to must be public, or inside an allowed network (CALLBACK_ALLOWED_HOSTS), or the host itself allowed by
name. It is checked at upload and again right before each attempt, which then connects to the address it checked
(DNS may answer differently the second time).
"""

import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import httpx

from core.errors import BadRequest

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], list[IPAddress]]

MAX_URL_LENGTH = 2048
"""The job table's column; longer URLs are refused at upload."""

NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
"""IPv4 addresses embedded for a NAT64 gateway (RFC 6052): judged by the IPv4 address inside."""


class CallbackUrlRefused(Exception):
    """Raised when a callback URL may not be used; `code` is the API's error code, `permanent` False for DNS."""

    def __init__(self, code: str, message: str, permanent: bool = True) -> None:
        super().__init__(message)
        self.code = code
        self.permanent = permanent


@dataclass(frozen=True)
class AllowList:
    hosts: frozenset[str]
    networks: tuple[IPNetwork, ...]

    @classmethod
    def of(cls, entries: Sequence[str]) -> "AllowList":
        """From CALLBACK_ALLOWED_HOSTS (already normalised by Settings): CIDR networks and host names."""
        hosts, networks = set(), []
        for entry in entries:
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                hosts.add(entry.lower().rstrip("."))
        return cls(frozenset(hosts), tuple(networks))

    def permits(self, address: IPAddress) -> bool:
        return any(address.version == network.version and address in network for network in self.networks)


@dataclass(frozen=True)
class Target:
    """A checked callback URL and the address to connect to."""

    url: httpx.URL
    address: IPAddress

    def pinned(self) -> tuple[httpx.URL, dict[str, str], dict[str, str]]:
        """The URL with the checked address as its host, its Host header, and the TLS server name (extensions)."""
        host_header = self.url.netloc.decode("ascii")
        extensions = {"sni_hostname": self.url.host} if self.url.scheme == "https" and not _is_ip(self.url.host) else {}
        return self.url.copy_with(host=str(self.address)), {"Host": host_header}, extensions


def is_public(address: IPAddress) -> bool:
    """A globally reachable unicast address (an IPv6 one that embeds IPv4 is judged by that IPv4 address)."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return is_public(embedded)
        if address.is_site_local:
            return False
    return address.is_global and not (
        address.is_multicast or address.is_reserved or address.is_unspecified or address.is_loopback
    )


def check_callback_url(url: str, allow: AllowList, resolve: Resolver | None = None) -> Target:
    """The target to post to, or CallbackUrlRefused (`invalid_callback_url`, `callback_url_not_allowed`)."""
    if len(url) > MAX_URL_LENGTH:
        raise CallbackUrlRefused(
            "invalid_callback_url", f"The callback URL is longer than {MAX_URL_LENGTH} characters."
        )
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise CallbackUrlRefused("invalid_callback_url", f"The callback URL is not valid: {exc}") from exc
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise CallbackUrlRefused("invalid_callback_url", "The callback URL must be an absolute http(s) URL.")
    host = parsed.host.lower().rstrip(".")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    found = [ipaddress.ip_address(host)] if _is_ip(host) else (resolve or resolve_host)(host, port)
    addresses = [_normalise(address) for address in found]
    if not addresses:
        raise CallbackUrlRefused("invalid_callback_url", f"The callback host {host} has no address.", permanent=False)
    if host not in allow.hosts:
        for address in addresses:
            if not is_public(address) and not allow.permits(address):
                raise CallbackUrlRefused(
                    "callback_url_not_allowed",
                    f"The callback host {host} resolves to {address}, which is not a public address; "
                    "an operator may allow it with CALLBACK_ALLOWED_HOSTS.",
                )
    return Target(parsed, addresses[0])


def resolve_host(host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to (empty if it does not), in the resolver's order, without repeats."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise CallbackUrlRefused(
            "invalid_callback_url", f"The callback host {host} does not resolve ({exc}).", permanent=False
        ) from exc
    found: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in found:
            found.append(address)
    return found


def _normalise(address: IPAddress) -> IPAddress:
    """An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is the IPv4 address it maps."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def accept_callback_url(url: str | None, allowed_hosts: Sequence[str]) -> str | None:
    """An upload's callback_url as it is stored (None for none or empty), or a 400 with the refusal's code."""
    if url is None or not url.strip():
        return None
    try:
        check_callback_url(url.strip(), AllowList.of(allowed_hosts))
    except CallbackUrlRefused as exc:
        raise BadRequest(exc.code, str(exc)) from exc
    return url.strip()
