"""Outgoing URL rules (app.urls): private space in every IPv6 wrapping (issue 18, defect 11)."""

from __future__ import annotations

import ipaddress

import pytest

from app.exceptions import UrlNotAllowed
from app.urls import address_refused, check_url


@pytest.mark.parametrize("address", [
    "127.0.0.1", "10.1.2.3", "169.254.169.254", "::1", "fc00::1",
    "::ffff:10.0.0.1",          # IPv4-mapped
    "2002:7f00:1::",            # 6to4 of 127.0.0.1
    "2002:a00:1::1",            # 6to4 of 10.0.0.1
    "2002:a9fe:a9fe::",         # 6to4 of the cloud metadata address
    "64:ff9b::7f00:1",          # NAT64 of 127.0.0.1
    "64:ff9b:1::a00:1",         # local-use NAT64 of 10.0.0.1
])
def test_private_space_is_refused_in_every_form(address: str) -> None:
    assert address_refused(ipaddress.ip_address(address))
    host = f"[{address}]" if ":" in address else address
    with pytest.raises(UrlNotAllowed):
        check_url(f"http://{host}/hook", allow_private=False)


def test_teredo_wrapping_a_private_client_is_refused() -> None:
    # Teredo: server 65.54.227.120, client 10.0.0.1 (stored inverted in the last 32 bits)
    client = int(ipaddress.IPv4Address("10.0.0.1")) ^ 0xFFFFFFFF
    teredo = ipaddress.IPv6Address((0x20010000 << 96) | (int(ipaddress.IPv4Address("65.54.227.120")) << 64) | client)
    assert teredo.teredo is not None and str(teredo.teredo[1]) == "10.0.0.1"
    assert address_refused(teredo)


@pytest.mark.parametrize("address", ["8.8.8.8", "2606:4700:4700::1111", "2002:808:808::"])
def test_public_addresses_pass(address: str) -> None:
    assert not address_refused(ipaddress.ip_address(address))
