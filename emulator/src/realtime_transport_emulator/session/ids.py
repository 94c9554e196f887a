"""Deterministic ids: the same seed and the same sequence of calls give the same ids.

Real ids look like ``item_C4lIJBpF8Uj6cB5KNv0XE`` (prefix, underscore, ~21 base62 characters).
Hashing a seed with a per-prefix counter keeps that shape while making whole event streams
reproducible, so tests can compare runs byte for byte.
"""

from __future__ import annotations

import hashlib
from collections import Counter

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _base62(data: bytes, length: int) -> str:
    number = int.from_bytes(data, "big")
    chars = []
    for _ in range(length):
        number, rem = divmod(number, 62)
        chars.append(_ALPHABET[rem])
    return "".join(chars)


class IdFactory:
    """Makes ids like ``resp_…`` from a seed; one factory per session keeps runs reproducible."""

    def __init__(self, seed: str) -> None:
        self._seed = seed
        self._counters: Counter[str] = Counter()

    def new(self, prefix: str) -> str:
        count = self._counters[prefix]
        self._counters[prefix] = count + 1
        digest = hashlib.blake2b(f"{self._seed}/{prefix}/{count}".encode(), digest_size=16).digest()
        return f"{prefix}_{_base62(digest, 21)}"
