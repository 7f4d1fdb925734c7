"""The SSRF guard of callback URLs: only public addresses, unless the allow-list says otherwise."""

import ipaddress

import httpx
import pytest

from callbacks.address_guard import (
    AllowList,
    CallbackUrlRefused,
    IPAddress,
    accept_callback_url,
    check_callback_url,
    is_public,
)
from core.errors import BadRequest

NOBODY = AllowList.of([])

REFUSED = [
    "127.0.0.1",
    "127.1.2.3",
    "10.0.0.1",
    "10.255.255.255",
    "172.16.0.1",
    "172.31.255.254",
    "192.168.0.1",
    "169.254.169.254",  # cloud metadata
    "100.64.0.1",  # carrier-grade NAT
    "0.0.0.0",  # noqa: S104 (refused here, not bound)
    "224.0.0.1",
    "255.255.255.255",
    "240.0.0.1",
    "::1",
    "::",
    "fc00::1",
    "fd12:3456::1",
    "fe80::1",
    "fec0::1",
    "ff02::1",
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "2002:7f00:1::1",  # 6to4 around 127.0.0.1
    "64:ff9b::a00:1",  # NAT64 around 10.0.0.1
]

PUBLIC = ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"]


def resolver(*addresses: str):  # type: ignore[no-untyped-def]
    def resolve(host: str, port: int) -> list[IPAddress]:
        return [ipaddress.ip_address(address) for address in addresses]

    return resolve


@pytest.mark.parametrize("address", REFUSED)
def test_non_public_addresses_are_refused_as_literals_and_behind_names(address: str) -> None:
    assert not is_public(ipaddress.ip_address(address))
    literal = f"http://[{address}]/hook" if ":" in address else f"http://{address}/hook"
    with pytest.raises(CallbackUrlRefused) as refused:
        check_callback_url(literal, NOBODY)
    assert refused.value.code == "callback_url_not_allowed"
    assert refused.value.permanent
    with pytest.raises(CallbackUrlRefused, match="not a public address"):
        check_callback_url("https://hooks.example.com/x", NOBODY, resolver("93.184.215.14", address))


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address: str) -> None:
    target = check_callback_url("https://hooks.example.com/x?a=1", NOBODY, resolver(address))
    assert str(target.address) == address.removeprefix("::ffff:")  # a mapped IPv4 address is that IPv4 address


def test_names_the_system_resolves_to_loopback_are_refused() -> None:
    with pytest.raises(CallbackUrlRefused, match="not a public address"):
        check_callback_url("http://localhost:8000/hook", NOBODY)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/x",
        "file:///etc/passwd",
        "gopher://example.com",
        "/relative",
        "http://",
        "https://" + "a" * 2048,
    ],
)
def test_other_schemes_and_malformed_urls_are_invalid(url: str) -> None:
    with pytest.raises(CallbackUrlRefused) as refused:
        check_callback_url(url, NOBODY, resolver("8.8.8.8"))
    assert refused.value.code == "invalid_callback_url"


def test_a_name_that_does_not_resolve_is_refused_but_not_for_good() -> None:
    with pytest.raises(CallbackUrlRefused) as refused:
        check_callback_url("https://no-such-host.invalid/x", NOBODY)
    assert refused.value.code == "invalid_callback_url"
    assert not refused.value.permanent  # at send time: DNS may come back, so it is retried


def test_the_allow_list_admits_networks_and_names_and_nothing_else() -> None:
    allow = AllowList.of(["127.0.0.1/32", "10.0.0.0/8", "receiver.internal", "fd00::/8"])

    assert check_callback_url("http://127.0.0.1:9000/hook", allow).address == ipaddress.ip_address("127.0.0.1")
    assert check_callback_url("http://[::ffff:127.0.0.1]:9000/hook", allow).address == ipaddress.ip_address("127.0.0.1")
    assert check_callback_url("http://svc/hook", allow, resolver("10.1.2.3")).address == ipaddress.ip_address(
        "10.1.2.3"
    )
    assert check_callback_url("http://[fd00::5]/hook", allow).address == ipaddress.ip_address("fd00::5")
    assert check_callback_url("http://Receiver.Internal./hook", allow, resolver("192.168.1.9"))
    for url, found in [
        ("http://127.0.0.2/hook", None),
        ("http://svc/hook", "192.168.1.9"),
        ("http://svc/hook", "169.254.169.254"),
        ("http://[::1]/hook", None),
    ]:
        with pytest.raises(CallbackUrlRefused):
            check_callback_url(url, allow, resolver(found) if found else None)


def test_the_request_goes_to_the_checked_address_with_the_name_as_host_and_tls_server_name() -> None:
    target = check_callback_url("https://user:pw@hooks.example.com:8443/cb?x=1", NOBODY, resolver("93.184.215.14"))
    url, headers, extensions = target.pinned()

    assert url == httpx.URL("https://user:pw@93.184.215.14:8443/cb?x=1")
    assert headers == {"Host": "hooks.example.com:8443"}
    assert extensions == {"sni_hostname": "hooks.example.com"}
    v6 = check_callback_url("http://hooks.example.com/cb", NOBODY, resolver("2606:4700:4700::1111"))
    assert str(v6.pinned()[0]) == "http://[2606:4700:4700::1111]/cb"
    assert v6.pinned()[2] == {}


def test_at_upload_a_refusal_is_a_400_with_its_code_and_empty_means_none() -> None:
    assert accept_callback_url(None, []) is None
    assert accept_callback_url("  ", []) is None
    assert accept_callback_url(" http://127.0.0.1:9/x ", ["127.0.0.1"]) == "http://127.0.0.1:9/x"
    with pytest.raises(BadRequest) as refused:
        accept_callback_url("http://127.0.0.1:9/x", [])
    assert refused.value.code == "callback_url_not_allowed"
