"""``local_audio``: the machine's sound devices (or files) through aiortc's media helpers.

``local_audio=True`` captures from the default input device and plays to the default output
device, the browser's "it just works" path for a desktop app; a :class:`LocalAudio` names other
devices or files (a WAV file in, a WAV file out is how the wiring is tested on machines without a
sound card). Defaults: PulseAudio ``default`` on Linux, AVFoundation/AudioToolbox on macOS;
other systems need explicit device names.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

from realtime_transport.errors import UserError


@dataclass(frozen=True)
class LocalAudio:
    """Where to capture from and play to (``format`` is an FFmpeg device or file format)."""

    input: str | None = None
    input_format: str | None = None
    output: str | None = None
    output_format: str | None = None
    loop_input: bool = False  # replay a file input forever (demos)


def default_devices() -> LocalAudio:
    if sys.platform.startswith("linux"):
        return LocalAudio("default", "pulse", "default", "pulse")
    if sys.platform == "darwin":
        return LocalAudio(":0", "avfoundation", "default", "audiotoolbox")
    raise UserError(
        "local_audio=True has no default devices on this platform; pass "
        "local_audio=LocalAudio(input=..., input_format=..., output=..., output_format=...) "
        "with FFmpeg device names"
    )


def resolve(local_audio: bool | LocalAudio | None) -> LocalAudio | None:
    if local_audio is None or local_audio is False:
        return None
    if local_audio is True:
        return default_devices()
    if isinstance(local_audio, LocalAudio):
        return local_audio
    raise UserError("local_audio must be True, False or a LocalAudio(...)")


class LocalMedia:
    """The opened devices of one connection: a capture track and a playback recorder."""

    def __init__(self, spec: LocalAudio) -> None:
        from aiortc.contrib.media import MediaPlayer, MediaRecorder

        self.player: Any = None
        self.recorder: Any = None
        try:
            if spec.input is not None:
                self.player = MediaPlayer(
                    spec.input, format=spec.input_format, loop=spec.loop_input
                )
            if spec.output is not None:
                self.recorder = MediaRecorder(spec.output, format=spec.output_format)
        except Exception as exc:  # av raises OSError/ValueError subclasses per backend
            self.stop_player()
            raise UserError(
                f"could not open the local audio devices ({type(exc).__name__}: {exc}); pass "
                "local_audio=LocalAudio(...) naming devices that exist, or use audio_sink and "
                "send_audio instead"
            ) from None

    @property
    def track(self) -> Any:
        return self.player.audio if self.player is not None else None

    async def play(self, track: Any) -> None:
        if self.recorder is not None:
            self.recorder.addTrack(track)
            await self.recorder.start()

    def stop_player(self) -> None:
        if self.player is not None and self.player.audio is not None:
            self.player.audio.stop()

    async def close(self) -> None:
        self.stop_player()
        if self.recorder is not None:
            await self.recorder.stop()
