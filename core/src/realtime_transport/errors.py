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


class ConnectTimeoutError(TransportConnectionError, TimeoutError):
    """The connection was not usable within the configured timeout."""


class UnsupportedOperationError(UserError):
    """The transport cannot do this (e.g. ``mute`` on WebSocket, ``send_audio`` on SIP)."""


class AudioFormatError(UserError):
    """Audio bytes or an audio format that cannot be handled as given."""


class ModelBehaviorError(RealtimeTransportError):
    """The model did something the session cannot honour (unknown tool, conflicting call)."""


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
