"""What the browser and server tests share: a free local port, a server process started like a
user starts it (and waited for), its stop, and Debian's Chromium launched headless."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")

#: Chromium's flags for the tests: no network beyond 127.0.0.1, and ``evil.example`` resolved to
#: 127.0.0.1 (the Host-header test plays a DNS rebinding with it).
CHROMIUM_ARGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--host-resolver-rules=MAP evil.example 127.0.0.1")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A server process writing to ``work/server.log``, waited for until ``url + ready`` answers;
    ``url`` is its root. ``group=True`` starts it in a process group of its own, so that
    :meth:`stop` also ends the workers it starts."""

    def __init__(self, argv: list[str], work: Path, port: int, *, env: dict | None = None,
                 ready: str = "", timeout: float = 120.0, group: bool = False):
        self.work, self.port, self.group = work, port, group
        self.url = f"http://127.0.0.1:{port}/"
        self.log = open(work / "server.log", "w")
        self.proc = subprocess.Popen(argv, cwd=work, stdout=self.log, stderr=subprocess.STDOUT,
                                     env={**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", **(env or {})},
                                     start_new_session=group)
        deadline = time.monotonic() + timeout
        while True:
            try:
                urllib.request.urlopen(self.url + ready, timeout=2)
                return
            except urllib.error.HTTPError:  # it answers (a login page's 401, say): it is up
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.proc.kill()
                    pytest.fail("the server did not start:\n" + (work / "server.log").read_text()[-3000:])
                time.sleep(0.5)

    def stop(self) -> None:
        """Terminate (kill after 20 s) and close the log."""
        signal = (lambda sig: os.killpg(self.proc.pid, sig)) if self.group else self.proc.send_signal
        signal(15)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            signal(9)
            self.proc.wait(timeout=20)
        self.log.close()


def launch_chromium(playwright):
    """Debian's Chromium through Playwright, headless; skips the test when it is not installed."""
    if not CHROMIUM.is_file():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS))
