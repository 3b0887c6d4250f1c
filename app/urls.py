"""Outgoing URLs (webhooks, URL sources): which addresses may be reached, checked where it counts.

``check_url`` validates a URL at submit time. ``pinned_client`` is the httpx client every outgoing
request uses: it resolves the host once per connection, checks every address it got, and connects
to the address it checked, so a DNS answer that changes between the check and the connection
(rebinding) cannot reach a private address. Private space is recognised in its IPv6 wrappings
too: IPv4-mapped, 6to4 (``2002::/16``), Teredo (``2001::/32``) and NAT64 (``64:ff9b::/96``,
``64:ff9b:1::/48``).
"""

from __future__ import annotations

import ipaddress
import socket
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from app.exceptions import UrlNotAllowed

if TYPE_CHECKING:
    import httpx

MAX_URL_LENGTH = 2048
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses an IPv6 address carries (mapped, 6to4, Teredo server and client, NAT64)."""
    found: list[ipaddress.IPv4Address] = []
    if ip.ipv4_mapped is not None:
        found.append(ip.ipv4_mapped)
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found.extend(ip.teredo)
    if any(ip in net for net in _NAT64):
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return found


def address_refused(ip: IPAddress) -> bool:
    """A private, loopback, link-local, multicast or reserved address, also inside an IPv6 wrapping."""
    candidates: list[IPAddress] = [ip]
    if isinstance(ip, ipaddress.IPv6Address):
        candidates.extend(_embedded_ipv4(ip))
    return any(not a.is_global or a.is_multicast or a.is_reserved or a.is_unspecified for a in candidates)


def resolve(host: str, port: int, *, allow_private: bool, what: str) -> list[IPAddress]:
    """The host's addresses (one DNS lookup); all must be allowed.

    Raises:
        UrlNotAllowed: unresolvable, or an address is refused and private addresses are not allowed.
    """
    try:
        addresses = [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as e:
            raise UrlNotAllowed(f"{what} host {host!r} cannot be resolved ({e}).") from None
        addresses = list(dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos))
    refused = sorted(str(a) for a in addresses if address_refused(a))
    if refused and not allow_private:
        raise UrlNotAllowed(
            f"{what} host {host!r} resolves to a private, loopback or reserved address "
            f"({', '.join(refused)}); use a public address, or set LESSONLENS_ALLOW_PRIVATE_URLS=true "
            "on a trusted network.", detail={"host": host, "addresses": refused})
    return addresses


def check_url(url: str, *, allow_private: bool, what: str = "URL") -> str:
    """Validate an outgoing http(s) URL; returns it unchanged.

    Every address the host resolves to must be public unless ``allow_private``. Blocking (DNS):
    call it from a worker thread in async code.

    Raises:
        UrlNotAllowed: bad scheme or host, unresolvable, or a refused address.
    """
    if not isinstance(url, str) or len(url) > MAX_URL_LENGTH:
        raise UrlNotAllowed(f"{what} must be a string of at most {MAX_URL_LENGTH} characters.")
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as e:
        raise UrlNotAllowed(f"{what} {url!r} is not a valid URL ({e}).") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UrlNotAllowed(f"{what} {url!r} must be an absolute http:// or https:// URL.")
    resolve(parts.hostname, port, allow_private=allow_private, what=what)
    return url


def pinned_client(*, allow_private: bool, what: str, timeout: float) -> httpx.Client:
    """An httpx client (no redirects, no proxies from the environment) whose connections go to an
    address checked by ``resolve`` in the same step. Refused addresses raise ``UrlNotAllowed``."""
    import httpcore
    import httpx
    from httpcore._backends.sync import SyncBackend

    class PinnedBackend(SyncBackend):
        def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                        local_address: str | None = None, socket_options: Any = None) -> httpcore.NetworkStream:
            address = resolve(host, port, allow_private=allow_private, what=what)[0]
            return super().connect_tcp(str(address), port, timeout, local_address, socket_options)

    transport = httpx.HTTPTransport(trust_env=False)
    # httpx takes no network backend: swap in a pool like its own whose backend connects pinned.
    transport._pool = httpcore.ConnectionPool(ssl_context=httpx.create_ssl_context(trust_env=False),
                                              network_backend=PinnedBackend())
    return httpx.Client(transport=transport, timeout=timeout, follow_redirects=False, trust_env=False)
