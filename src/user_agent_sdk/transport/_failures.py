"""Why a connection failed, in one line a user can act on; the client's TLS context."""

from __future__ import annotations

import os
import socket
import ssl


def tls_context(ca_bundle: str | None = None) -> ssl.SSLContext:
    """The client TLS context: the CAs in ``ca_bundle`` (a PEM file) when given, else
    ``$SSL_CERT_FILE`` or ``$SSL_CERT_DIR`` when set, else certifi's (as httpx chooses).

    Raises OSError or ssl.SSLError when ``ca_bundle`` cannot be read as PEM certificates.
    """
    if ca_bundle is not None:
        return ssl.create_default_context(cafile=ca_bundle)
    if os.environ.get("SSL_CERT_FILE"):
        return ssl.create_default_context(cafile=os.environ["SSL_CERT_FILE"])
    if os.environ.get("SSL_CERT_DIR"):
        return ssl.create_default_context(capath=os.environ["SSL_CERT_DIR"])
    import certifi  # httpx's dependency, read only when https needs its CAs

    return ssl.create_default_context(cafile=certifi.where())


def failure_reason(exc: BaseException, host: str | None = None, port: int | None = None) -> str:
    """One line naming why a connection failed, from the error trio or httpx raised.

    The cause (an :class:`ssl.SSLError` or :class:`OSError`) often hides behind a
    wrapper with an empty message (:class:`trio.BrokenResourceError`) or a group (every
    address refused): the chain of causes and groups is searched for it.
    """
    where = host if host is not None else "the server"
    address = f"{host}:{port}" if host is not None and port is not None else where
    for cause in _causes(exc):
        if isinstance(cause, ssl.SSLCertVerificationError):
            detail = cause.verify_message or cause.reason or "unknown reason"
            if "hostname mismatch" in detail.lower() or "ip address mismatch" in detail.lower():
                return (
                    f"TLS certificate verify failed: the certificate of {where} is for "
                    f"another host name ({detail})"
                )
            return (
                f"TLS certificate verify failed for {where}: {detail} (to trust a private "
                f"CA, set caBundle in credentials.json or $USERAGENT_CA_BUNDLE)"
            )
        if isinstance(cause, ssl.SSLEOFError | ssl.SSLZeroReturnError):
            return f"{where} closed the TLS connection abruptly ({_ssl_text(cause)})"
        if isinstance(cause, ssl.SSLError):
            return f"TLS error with {where}: {_ssl_text(cause)}"
        if isinstance(cause, socket.gaierror):
            return f"cannot resolve the host name {where!r}: {cause.strerror or cause}"
        if isinstance(cause, ConnectionRefusedError):
            return f"connection refused by {address} (is the server running?)"
        if isinstance(cause, TimeoutError):
            return f"connecting to {address} timed out"
        if isinstance(cause, ConnectionResetError):
            return f"the connection was reset by {where}"
    for cause in _causes(exc):
        if isinstance(cause, OSError) and (cause.strerror or str(cause)):
            return cause.strerror or str(cause)
    return str(exc) or f"{type(exc).__name__} (no detail given)"


def _causes(exc: BaseException) -> list[BaseException]:
    """``exc``, then what it was raised from or while handling, and groups' members."""
    found: list[BaseException] = []
    todo = [exc]
    while todo:
        current = todo.pop(0)
        if any(current is seen for seen in found):
            continue
        found.append(current)
        if isinstance(current, BaseExceptionGroup):
            todo.extend(current.exceptions)
        todo.extend(e for e in (current.__cause__, current.__context__) if e is not None)
    return found


def _ssl_text(exc: ssl.SSLError) -> str:
    # str() carries "[SSL: CODE] text (_ssl.c:NNN)"; the text alone reads better.
    text = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], str) else str(exc)
    return text.split(" (_ssl.c:")[0]
