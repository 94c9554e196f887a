"""Run inside the environment under test: list transports, look names up, print JSON.

Kept as a script (not ``python -c``) so the integration tests read as checks, not as code strings.
"""

from __future__ import annotations

import json
import sys

import realtime_transport as rt


def main(names: list[str]) -> None:
    listed = rt.list_transports()
    out: dict[str, object] = {
        "core_file": rt.__file__,
        "transports": [
            {"name": s.name, "aliases": list(s.aliases), "distribution": s.distribution}
            for s in listed
        ],
        # Listing must not import any transport implementation.
        "imported_after_listing": sorted(
            m for m in ("rt_toy_good.transport", "rt_toy_good.heavy") if m in sys.modules
        ),
    }
    lookups: dict[str, object] = {}
    for name in names:
        try:
            transport = rt.get_transport(name, model="m")
        except Exception as exc:
            lookups[name] = {
                "error": type(exc).__name__,
                "mro": [cls.__name__ for cls in type(exc).__mro__],
                "message": str(exc),
            }
        else:
            lookups[name] = {
                "type": f"{type(transport).__module__}.{type(transport).__qualname__}",
                "is_layer": isinstance(transport, rt.RealtimeTransportLayer),
                "options": getattr(transport, "options", None),
            }
    out["lookups"] = lookups
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1:])
