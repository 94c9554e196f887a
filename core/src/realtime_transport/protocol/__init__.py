"""Typed models (pydantic v2) of the GA Realtime protocol: session config, items, events.

Imported only by code that wants typed models or validation; ``realtime_transport.config`` and
the transports' hot paths work on plain dicts and never import this package. Every model keeps
unknown fields (``extra="allow"``), so ``model.to_wire()`` / ``model_dump(exclude_unset=True)``
gives back what was parsed, new server fields included.

* Session config: :class:`SessionConfig` and its parts (accepted by ``build_session_payload``).
* Client events: one model per GA client event, :data:`ClientEvent`, :func:`validate_client_event`.
* Server events: one model per GA server event, :data:`ServerEvent`, :func:`parse_server_event`
  (unknown types -> :class:`UnknownServerEvent`).
* :func:`find_beta_fields`: beta-era names that the GA API rejects.
"""

from __future__ import annotations

from ._base import RealtimeModel as RealtimeModel
from ._event import EventModel as EventModel
from .beta import *  # noqa: F403
from .beta import __all__ as _beta_all
from .client_events import *  # noqa: F403
from .client_events import __all__ as _client_all
from .items import *  # noqa: F403
from .items import __all__ as _items_all
from .server_events import *  # noqa: F403
from .server_events import __all__ as _server_all
from .session import *  # noqa: F403
from .session import __all__ as _session_all

__all__ = sorted(
    {
        "EventModel",
        "RealtimeModel",
        *_beta_all,
        *_client_all,
        *_items_all,
        *_server_all,
        *_session_all,
    }
)
