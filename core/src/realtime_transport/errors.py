"""Typed exceptions. Every message says what happened and what to do, and never carries a secret."""

from __future__ import annotations


class RealtimeTransportError(Exception):
    """Base class for every error this library raises on purpose."""


class UserError(RealtimeTransportError, ValueError):
    """The caller asked for something invalid (bad option, wrong state, unsupported operation)."""


class TransportNotConnectedError(RealtimeTransportError, RuntimeError):
    """An operation needs an open connection and there is none."""


class TransportConnectionError(RealtimeTransportError, ConnectionError):
    """Opening or keeping the connection failed (refused, TLS, bad key, closed mid-setup)."""


class AuthenticationError(TransportConnectionError):
    """The server refused the credentials. The key itself is never part of the message."""


class CallEndedError(TransportConnectionError):
    """The call a transport was attached to (``call_id``) has ended: re-attaching cannot help."""


class ConnectTimeoutError(TransportConnectionError, TimeoutError):
    """The connection was not usable within the configured timeout."""


class UnsupportedOperationError(UserError):
    """The transport cannot do this (e.g. ``mute`` on WebSocket, ``send_audio`` on SIP)."""


class AudioFormatError(UserError):
    """Audio bytes or an audio format that cannot be handled as given."""


class ModelBehaviorError(RealtimeTransportError):
    """The model did something the session cannot honour (unknown tool, conflicting call)."""


class SessionUpdateRejectedError(RealtimeTransportError):
    """The server refused a ``session.update``; the session kept its previous configuration."""


class EventStreamOverflowError(RealtimeTransportError):
    """An ``events()`` consumer fell so far behind that structural events would be lost."""


# Registry errors live here too so that ``realtime_transport.errors`` is the one place to catch.
class PluginError(RealtimeTransportError):
    """Base class for plugin and registry problems."""


class UnknownTransportError(PluginError, LookupError):
    """No installed transport has this name. The message lists what is installed."""


class TransportNotInstalledError(UnknownTransportError):
    """A first-party transport name whose distribution is not installed; says what to install."""


class TransportLoadError(UnknownTransportError):
    """The plugin providing this name is installed but failed to load; carries its error."""


class DuplicateTransportError(PluginError):
    """Two distributions claim the same transport name or alias."""


def redact(text: str, *secrets: str | None) -> str:
    """Replace every given secret (and ``Bearer <secret>``) in ``text`` by a short marker."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, _mask(secret))
    return text


def _mask(secret: str) -> str:
    prefix = secret[:3] if secret.startswith(("sk-", "ek_")) else ""
    return f"{prefix}***"


def redacted_cause(exc: BaseException, *secrets: str | None) -> BaseException:
    """``exc`` to chain as ``__cause__`` with no secret in it: ``exc`` itself when none of
    ``secrets`` appears in its message, else a copy with redacted arguments (same type and
    traceback), or a plain ``RuntimeError`` naming the type when the copy is not possible.
    Its own cause is treated the same way."""
    if not any(secret and len(secret) >= 4 for secret in secrets):
        return exc
    if not _mentions(exc, secrets):
        return exc
    import copy

    try:
        clone = copy.copy(exc)
        clone.args = tuple(
            redact(arg, *secrets) if isinstance(arg, str) else arg for arg in exc.args
        )
    except Exception:
        clone = None
    if clone is None or _mentions(clone, secrets):
        clone = RuntimeError(f"{type(exc).__name__}: {redact(str(exc), *secrets)}")
    clone.__traceback__ = exc.__traceback__
    if exc.__cause__ is not None:
        clone.__cause__ = redacted_cause(exc.__cause__, *secrets)
    return clone


def _mentions(exc: BaseException, secrets: tuple[str | None, ...]) -> bool:
    try:
        text = f"{exc}\n{exc.args!r}"
    except Exception:  # a __str__ that raises: treat it as unsafe
        return True
    return any(secret and len(secret) >= 4 and secret in text for secret in secrets)
