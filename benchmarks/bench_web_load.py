"""A bounded load run of ``twintake web`` (issue 19): N visitors (separate browser contexts in
Chromium) on 127.0.0.1 each make one video at the same moment; the page's queue runs them one
after another. Prints, per visitor: the place in the queue and the wait the page announced, the
real queue and run time (from the operator endpoint), and the time to the page's first feedback.

    python benchmarks/bench_web_load.py --visitors 4

Media: tests/data/tiny_portrait.jpg (320x320) and a two-sentence text per visitor.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PHOTO = ROOT / "tests" / "data" / "tiny_portrait.jpg"
TOKEN = "bench-operator-token-0123"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--visitors", type=int, default=4)
    ap.add_argument("--text", default="Hello, this is visitor {n}. The page makes one video at a time.")
    a = ap.parse_args()
    from playwright.sync_api import sync_playwright

    work = Path(tempfile.mkdtemp(prefix="bench-web-"))
    (work / "token").write_text(TOKEN)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/"
    proc = subprocess.Popen([sys.executable, "-m", "twintake.cli", "web", "--port", str(port), "--avatars",
                             str(work / "avatars"), "--operator-token-file", str(work / "token")],
                            env={**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        t0 = time.monotonic()
        while True:
            try:
                urllib.request.urlopen(url, timeout=2)
                break
            except OSError:
                time.sleep(0.3)
        start_s = time.monotonic() - t0
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--headless", "--no-sandbox",
                                                                              "--disable-gpu"])
            pages = []
            for n in range(a.visitors):
                page = b.new_context(viewport={"width": 1280, "height": 900}).new_page()
                page.goto(url)
                page.wait_for_selector("#generate", timeout=60_000)
                page.locator("#source-upload input[type=file]").set_input_files(str(PHOTO))
                page.wait_for_selector("#avatar-choice:has-text('tiny_portrait')", timeout=60_000)
                page.locator("#speech-text textarea").fill(a.text.format(n=n + 1))
                pages.append(page)
            clicked = []
            for page in pages:
                clicked.append(time.monotonic())
                page.locator("#generate").click()
            rows = [{"visitor": i + 1} for i in range(len(pages))]
            for i, page in enumerate(pages):
                page.wait_for_function("() => /Waiting|Making|Error/.test(document.querySelector('#status').innerText)")
                rows[i]["feedback_s"] = round(time.monotonic() - clicked[i], 2)
                text = page.locator("#status").inner_text().replace("\n", " ")
                rows[i]["first_status"] = text[:60]
                m = re.search(r"\((\d+)\).*?about (.+?) before it starts", text)
                rows[i]["position"] = int(m.group(1)) if m else 0
                rows[i]["announced_wait"] = m.group(2) if m else "0 s"
            done = [False] * len(pages)
            while not all(done):
                for i, page in enumerate(pages):
                    if not done[i] and re.search(r"Done|Error|Cancelled", page.locator("#status").inner_text()):
                        done[i] = True
                        rows[i]["result"] = page.locator("#status").inner_text().split("\n")[0][:90]
                time.sleep(0.5)
            wall_s = time.monotonic() - clicked[0]
            req = urllib.request.Request(url + "operator/jobs", headers={"Authorization": f"Bearer {TOKEN}"})
            jobs = sorted(json.loads(urllib.request.urlopen(req).read())["jobs"], key=lambda j: j["id"])
            b.close()
    finally:
        proc.terminate()
        proc.wait(30)
    for r in rows:  # the page's own report: "made in 9 s after 16 s in the queue"
        m = re.search(r"made in (.+?) after (.+?) in the queue", r.get("result", ""))
        r["ran"], r["queued"] = (m.group(1), m.group(2)) if m else ("-", "-")
    print(f"server start {start_s:.1f} s; {len(rows)} visitors; all done after {wall_s:.1f} s")
    print("| visitor | first feedback | first status | place shown | wait announced | queued | ran |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['visitor']} | {r['feedback_s']} s | {r['first_status']} | {r['position'] or '-'} | "
              f"{r['announced_wait']} | {r['queued']} | {r['ran']} |")
    print("operator's list (queued s, ran s, state):", [(j["queue_s"], j["run_s"], j["state"]) for j in jobs])


if __name__ == "__main__":
    main()
