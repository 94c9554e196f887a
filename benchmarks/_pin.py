"""Fallback for machines without ``taskset``: pin to one core, then exec the command."""

from __future__ import annotations

import os
import sys

if __name__ == "__main__":
    os.sched_setaffinity(0, {int(sys.argv[1])})
    os.execv(sys.argv[2], sys.argv[2:])
