"""Take the screenshots of the main pages into docs/img/ (screenshot_*.png for the README, web_*.png for
docs/web.md).

Starts ``redif serve --demo`` on a fresh temporary data directory (synthetic demo sites and users only),
drives Debian chromium with Playwright: the evidence explorer, a calculator, the trial designer, and a
demo patient with a stored pathway case document (examples/case_braf_v600e.yaml) and voxel dosimetry
computed from an uploaded synthetic PET phantom.

    python scripts/screenshots.py [--out docs/img] [--chromium /usr/bin/chromium]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests" / "web"))
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--force-color-profile=srgb", "--hide-scrollbars"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(data_dir: Path) -> tuple[subprocess.Popen[str], str]:
    import httpx

    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.Popen([sys.executable, "-m", "redif", "serve", "--demo", "--port", str(port),
                             "--data-dir", str(data_dir)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=env)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.3)
    proc.kill()
    raise SystemExit("redif serve did not start: " + (proc.stdout.read() if proc.stdout else "")[-2000:])


def _add_response_data(page: object, base: str) -> None:
    """Synthetic RECIST sums and thyroglobulin values through the API (session cookie + CSRF header)."""
    import re

    pid = re.search(r"/patients/(\d+)", page.url).group(1)  # type: ignore[attr-defined, union-attr]
    csrf = page.locator("input[name=csrf_token]").first.get_attribute("value")  # type: ignore[attr-defined]
    req = page.request  # type: ignore[attr-defined]
    h = {"X-CSRF-Token": csrf}
    for d, v in (("2024-04-01", 46.0), ("2024-10-08", 32.0), ("2025-01-10", 29.0)):
        req.post(f"{base}/api/v1/patients/{pid}/records/responses", headers=h,
                 data={"assessment_date": d, "sum_of_diameters_mm": v})
    for d, v in (("2023-12-01", 23.0), ("2024-06-01", 6.2), ("2024-10-01", 2.9), ("2025-01-08", 1.4)):
        req.post(f"{base}/api/v1/patients/{pid}/records/labs", headers=h,
                 data={"sample_date": d, "analyte": "Tg", "value": v, "unit": "ng/mL"})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    a = ap.parse_args()
    from _phantom_zip import write_small_phantom
    from playwright.sync_api import expect, sync_playwright

    from redif.registry.demo import DEMO_PASSWORD

    a.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        blob, _ = write_small_phantom(d / "phantom")
        study = d / "phantom_study.zip"
        study.write_bytes(blob)
        proc, base = _serve(d / "data")
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=a.chromium, args=ARGS)
                page = browser.new_context(viewport={"width": 1280, "height": 900},
                                           device_scale_factor=1).new_page()

                def shot(name: str, *, full: bool = False, prefix: str = "screenshot_") -> None:
                    page.wait_for_timeout(300)
                    path = a.out / f"{prefix}{name}.png"
                    page.screenshot(path=str(path), full_page=full)
                    print("wrote", path)

                page.goto(base + "/evidence?outcome=uptake&by=genotype")
                expect(page.locator("#pooled")).to_be_visible()
                page.set_viewport_size({"width": 1280, "height": 1500})
                shot("evidence")
                page.set_viewport_size({"width": 1280, "height": 900})
                page.goto(base + "/calc/lesion?mass_g=2&tia_h=20&target_gy=80")
                shot("calculator")
                page.goto(base + "/design?p0=0.05&p1=0.25&alpha=0.05&beta=0.2&nmax=60")
                shot("designer")
                page.goto(base + "/design/map?outcome=uptake&genotype=BRAF+V600E&min_grade=secondary")
                expect(page.locator("#map-summary")).to_be_visible(timeout=120_000)
                shot("design_map")

                page.set_viewport_size({"width": 1200, "height": 800})
                page.goto(base + "/login")
                shot("login", prefix="web_")
                page.get_by_label("Username").fill("demo-clinician-a")
                page.get_by_label("Password").fill(DEMO_PASSWORD)
                page.get_by_role("button", name="Sign in").click()
                page.wait_for_url(base + "/patients")
                shot("patients", prefix="web_")
                page.get_by_role("link", name="DEMO-A-001").click()
                shot("patient", prefix="web_")
                page.set_viewport_size({"width": 1280, "height": 900})
                page.goto(base + "/patients")
                page.get_by_role("link", name="New patient").click()
                page.get_by_label("Pseudonym").fill("DEMO-SCREEN-01")
                page.get_by_label("Histology").fill("papillary")
                page.get_by_role("button", name="Create patient").click()
                expect(page.locator("#no-dose")).to_be_visible()
                page.locator("#assessment summary").click()
                page.get_by_label("Case document", exact=False).fill(
                    (ROOT / "examples" / "case_braf_v600e.yaml").read_text())
                page.get_by_role("button", name="Store and assess").click()
                expect(page.locator("#assessment-blocks")).to_be_visible()
                page.get_by_label("PET study").set_input_files(str(study))
                page.get_by_label("131I activity for the predicted dose (GBq)").fill("5.5")
                page.get_by_role("button", name="Upload and compute dosimetry").click()
                expect(page.locator("table.dose-table")).to_be_visible(timeout=120_000)
                _add_response_data(page, base)
                page.reload()
                expect(page.locator("#chart-tg")).to_be_visible()
                page.locator("#assessment").scroll_into_view_if_needed()
                page.evaluate("document.getElementById('assessment').scrollIntoView()")
                page.set_viewport_size({"width": 1280, "height": 1400})
                page.evaluate("document.getElementById('assessment').scrollIntoView()")
                shot("patient_assessment")
                page.evaluate("document.getElementById('voxel-dosimetry').scrollIntoView()")
                shot("patient_dosimetry")
                page.evaluate("document.getElementById('response-charts').scrollIntoView()")
                page.set_viewport_size({"width": 1280, "height": 700})
                page.evaluate("document.getElementById('response-charts').scrollIntoView()")
                shot("patient_response")
                browser.close()
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


if __name__ == "__main__":
    main()
