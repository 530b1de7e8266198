"""Where a webhook may send: http(s) URLs whose host resolves only to addresses allowed.

A webhook URL is a server-side request forgery risk: it makes this site's worker send to a
place a manager chose. Never to link-local or cloud-metadata addresses; to loopback and
private addresses only with ``PORTAL_WEBHOOK_ALLOW_PRIVATE=1``. The URL is checked when it is
registered and again at every delivery, whose connection goes to the very address checked
(a name that resolves elsewhere the second time, DNS rebinding, gains nothing).
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Metadata services that are not link-local (169.254.0.0/16 and fe80::/10 are refused whole).
METADATA = tuple(
    ipaddress.ip_network(n)
    for n in (
        "169.254.0.0/16",  # AWS, GCP, Azure, OpenStack …
        "fd00:ec2::254/128",  # AWS over IPv6
        "100.100.100.200/32",  # Alibaba Cloud
        "192.0.0.192/32",  # Oracle Cloud
    )
)


@dataclass(frozen=True)
class Target:
    """A checked webhook URL: where to connect (``address``) and what to ask for."""

    scheme: str
    host: str
    port: int
    path: str
    address: str

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"


def _refusal(address: IPAddress, allow_private: bool) -> str | None:
    """Why ``address`` may not be sent to, or None."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if any(address in network for network in METADATA if network.version == address.version):
        return "a cloud metadata or link-local address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast or address.is_unspecified or address.is_reserved:
        return "not an address a webhook can use"
    if (address.is_loopback or address.is_private) and not allow_private:
        kind = "a loopback" if address.is_loopback else "a private"
        return f"{kind} address (allowed only with PORTAL_WEBHOOK_ALLOW_PRIVATE=1)"
    return None


def webhook_target(url: str) -> Target:
    """Check a webhook URL and resolve its host; raises ``ValidationError`` naming the problem.

    Every address the host resolves to must be allowed (one bad address refuses the URL: a
    resolver may answer either), and the first is the one to connect to.
    """
    allow_private = settings.PORTAL["WEBHOOK_ALLOW_PRIVATE"]
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ValidationError({"url": [f"The URL is not valid: {exc}."]}) from None
    if parts.scheme not in ("http", "https"):
        scheme = f"'{parts.scheme}'" if parts.scheme else "none"
        raise ValidationError({"url": [f"Use an http or https URL (the scheme is {scheme})."]})
    if not parts.hostname:
        raise ValidationError({"url": ["The URL names no host."]})
    if parts.username or parts.password:
        raise ValidationError(
            {"url": ["Put no user name or password in the URL; sign with the secret."]}
        )
    port = port or (443 if parts.scheme == "https" else 80)
    host = parts.hostname
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ValidationError({"url": [f"The host {host} cannot be resolved ({exc})."]}) from None
    addresses = list(dict.fromkeys(info[4][0] for info in found))
    if not addresses:
        raise ValidationError({"url": [f"The host {host} resolves to no address."]})
    for text in addresses:
        refusal = _refusal(ipaddress.ip_address(text.split("%")[0]), allow_private)
        if refusal:
            raise ValidationError({"url": [f"The host {host} resolves to {text}: {refusal}."]})
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return Target(parts.scheme, host, port, path, addresses[0])
