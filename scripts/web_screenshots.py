"""Regenerate the web screenshots in docs/img/ (demo database, Debian chromium via Playwright).

Usage: python scripts/web_screenshots.py
"""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "img"


def main() -> None:
    import httpx
    from playwright.sync_api import sync_playwright

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    tmp = tempfile.mkdtemp()
    proc = subprocess.Popen(
        [sys.executable, "-m", "redif", "serve", "--demo", "--port", str(port), "--data-dir", tmp],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"},
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.3)
    try:
        with sync_playwright() as p:
            b = p.chromium.launch(
                executable_path="/usr/bin/chromium",
                args=[
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--no-first-run",
                    "--disable-background-networking",
                ],
            )
            page = b.new_page(viewport={"width": 1200, "height": 800})
            page.goto(base + "/login")
            page.screenshot(path=str(OUT / "web_login.png"))
            page.get_by_label("Username").fill("demo-clinician-a")
            page.get_by_label("Password").fill("demo-password-not-secret")
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(base + "/patients")
            page.screenshot(path=str(OUT / "web_patients.png"))
            page.get_by_role("link", name="DEMO-A-001").click()
            page.screenshot(path=str(OUT / "web_patient.png"), full_page=False)
            b.close()
    finally:
        proc.terminate()
        out = proc.communicate(timeout=20)[0]
        print(out)


if __name__ == "__main__":
    main()
