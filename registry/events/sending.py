"""One signed POST to a checked address: no redirect followed, nothing of the answer kept but
its status."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import socket
import ssl

from registry.events.addresses import Target


def signature(secret: str, body: bytes) -> str:
    """``sha256=`` and the hex HMAC-SHA256 of ``body`` with ``secret``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class _PinnedHTTPS(http.client.HTTPSConnection):
    """HTTPS to the address checked, with the certificate checked against the host name."""

    def __init__(self, target: Target, timeout: float):
        super().__init__(
            target.host, target.port, timeout=timeout, context=ssl.create_default_context()
        )
        self._address = target.address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def post(target: Target, body: bytes, headers: dict[str, str], timeout: float) -> int:
    """POST ``body`` to ``target`` and return the status; raises ``OSError`` (a timeout, a
    refused connection, a TLS failure) when no status came back.

    http.client follows no redirect: a 3xx is a status like any other (not delivered). At most
    a little of the answer is read, then the connection is closed.
    """
    if target.scheme == "https":
        conn: http.client.HTTPConnection = _PinnedHTTPS(target, timeout)
    else:
        conn = http.client.HTTPConnection(target.address, target.port, timeout=timeout)
    try:
        conn.request(
            "POST",
            target.path,
            body=body,
            headers={
                "Host": target.host_header,
                "Content-Type": "application/json",
                "User-Agent": "model-portal-webhooks",
                **headers,
            },
        )
        response = conn.getresponse()
        response.read(4096)  # never shown nor kept: a receiver's answer is its own business
        return response.status
    except http.client.HTTPException as exc:
        raise OSError(f"bad HTTP answer ({type(exc).__name__})") from None
    finally:
        conn.close()
