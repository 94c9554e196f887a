"""Headless Chromium (Debian's ``chromium``) driven by Playwright, a page bundling the npm SDK
(esbuild), served from another origin than the emulator (so CORS is exercised)."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _skip_reason() -> str | None:
    if CHROMIUM is None:
        return "chromium is not installed (apt-get install -y chromium); .ci/run installs it"
    if shutil.which("node") is None:
        return "node is not installed; the page bundles the npm SDK with esbuild"
    if not (HERE / "node_modules" / "@openai" / "agents-realtime").is_dir():
        return "npm packages missing: run `npm ci` in tests/browser (.ci/run does)"
    return None


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """index.html + bundle.js (the SDK bundled by esbuild) in a temporary folder."""
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    out = tmp_path_factory.mktemp("site")
    esbuild = HERE / "node_modules" / ".bin" / "esbuild"
    subprocess.run(
        [
            str(esbuild),
            str(HERE / "entry.js"),
            "--bundle",
            "--format=iife",
            f"--outfile={out / 'bundle.js'}",
            "--log-level=warning",
        ],
        check=True,
        cwd=HERE,
        timeout=60,
    )
    shutil.copy(HERE / "index.html", out / "index.html")
    return out


@pytest.fixture
async def static_url(site: Path) -> AsyncIterator[str]:
    """The page on http://localhost:PORT (the emulator is http://127.0.0.1:OTHER)."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.staticfiles import StaticFiles

    app = Starlette()
    app.mount("/", StaticFiles(directory=site, html=True))
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.get_running_loop().create_task(server.serve())
    for _ in range(200):
        if server.started:
            break
        await asyncio.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://localhost:{port}/"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


def write_wav(path: Path, samples: Any, rate: int = 48000) -> None:
    import wave

    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.astype("<i2").tobytes())


@pytest.fixture(scope="session")
def fake_mic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What Chromium's fake capture device plays, looped: speech-like audio, then silence."""
    import numpy as np

    rate = 48000
    t = np.arange(int(0.8 * rate)) / rate
    voice = sum(np.sin(2 * np.pi * f * t) / (i + 1) for i, f in enumerate((180, 360, 540, 720)))
    voice = voice * (0.6 + 0.4 * np.sin(2 * np.pi * 4 * t)) * 9000
    audio = np.concatenate([np.zeros(int(0.3 * rate)), voice, np.zeros(int(2.5 * rate))])
    path = tmp_path_factory.mktemp("mic") / "speech.wav"
    write_wav(path, audio)
    return path


@pytest.fixture
async def browser(fake_mic: Path) -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--allow-loopback-in-peer-connection",
                "--use-fake-ui-for-media-stream",
                "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-audio-capture={fake_mic}",
                "--autoplay-policy=no-user-gesture-required",
            ],
        )
        try:
            yield chromium
        finally:
            await chromium.close()
