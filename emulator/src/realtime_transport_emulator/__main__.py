"""``python -m realtime_transport_emulator`` runs the CLI."""

from __future__ import annotations

import sys

from realtime_transport_emulator.cli import main

sys.exit(main())
