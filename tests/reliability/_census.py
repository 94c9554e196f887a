"""A resource census: fails a test that leaks a task, a thread or a file descriptor."""

from __future__ import annotations

import asyncio
import gc
import os
import threading
from dataclasses import dataclass


def open_fds() -> int:
    """Open descriptors, minus /dev/null: libuv (uvloop) reserves one per loop on first listen
    (its EMFILE trick) and closes it with the loop."""
    return sum(1 for target in fd_targets().values() if target != "/dev/null")


def fd_targets() -> dict[str, str]:
    targets = {}
    for fd in os.listdir("/proc/self/fd"):
        try:
            targets[fd] = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
    return targets


@dataclass
class Census:
    """What was alive before a test; :meth:`check` waits briefly for stragglers, then fails."""

    tasks: set[asyncio.Task[object]]
    threads: int
    fds: int
    fd_map: dict[str, str]

    @classmethod
    def take(cls) -> Census:
        gc.collect()
        return cls(set(asyncio.all_tasks()), threading.active_count(), open_fds(), fd_targets())

    async def check(self, *, timeout: float = 2.0) -> None:
        current = asyncio.current_task()
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            gc.collect()
            leaked = [
                task
                for task in asyncio.all_tasks()
                if task is not current and task not in self.tasks and not task.done()
            ]
            threads = threading.active_count()
            fds = open_fds()
            if not leaked and threads <= self.threads and fds <= self.fds:
                return
            if asyncio.get_running_loop().time() > deadline:
                names = [task.get_coro() for task in leaked]
                raise AssertionError(
                    f"leaked: {len(leaked)} task(s) {names}, threads {self.threads}->{threads}, "
                    f"file descriptors {self.fds}->{fds} "
                    f"(new: {sorted(set(fd_targets().items()) - set(self.fd_map.items()))})"
                )
            await asyncio.sleep(0.02)
