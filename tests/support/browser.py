"""Headless Chromium (Debian's), to check what a listener's browser does with the app's audio."""

from __future__ import annotations

import io
import math
import os
import shutil
import struct
import subprocess
import wave
from pathlib import Path

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--autoplay-policy=no-user-gesture-required"]

PAGE = """<!doctype html><html><body><pre id="out">waiting</pre><script>
const out = document.getElementById("out"), seen = [];
const audio = new Audio(%(src)s); audio.muted = true;
audio.addEventListener("error", () => { out.textContent = "error " + (audio.error && audio.error.code); });
audio.addEventListener("playing", () => {
  seen.push("playing");
  if (!seen.includes("seek")) { seen.push("seek"); audio.currentTime = %(seek)s; }
});
audio.addEventListener("seeked", () => {
  out.textContent = "ok " + seen.join(" ") + " at " + audio.currentTime.toFixed(1);
});
audio.play().catch(refused => { out.textContent = "play() refused: " + refused; });
</script></body></html>"""


def find_or_install() -> str | None:
    """The chromium binary; installed from Debian's packages when absent and this user may (root)."""
    found = shutil.which("chromium")
    if found or os.geteuid() != 0 or not shutil.which("apt-get"):
        return found
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if subprocess.run(["apt-get", "install", "-y", "-q", "chromium"], env=env, capture_output=True).returncode:
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True)
        subprocess.run(["apt-get", "install", "-y", "-q", "chromium"], env=env, capture_output=True)
    return shutil.which("chromium")


def tone_wav(seconds: int = 6, rate: int = 8000) -> bytes:
    """A playable WAV: a 440 Hz tone, mono, 16-bit."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * n / rate)))
                                 for n in range(rate * seconds)))
    return buffer.getvalue()


def play_and_seek(chromium: str, url: str, seek: float, workdir: Path, flags: list[str] | None = None) -> str:
    """What the page says after playing ``url`` and seeking: ``ok playing seek at 4.0`` or ``error 4``."""
    page = workdir / "page.html"
    page.write_text(PAGE % {"src": repr(url), "seek": seek})
    run = subprocess.run([chromium, *FLAGS, *(flags or []), f"--user-data-dir={workdir / 'profile'}",
                          "--virtual-time-budget=15000", "--dump-dom", page.as_uri()],
                         capture_output=True, text=True, timeout=90)
    start = run.stdout.find('<pre id="out">')
    if start < 0:
        return run.stderr[-500:]
    return run.stdout[start + len('<pre id="out">'):run.stdout.find("</pre>", start)]
