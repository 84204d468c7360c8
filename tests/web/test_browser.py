"""Browser test: Debian chromium driven by Playwright against `redif serve` in a subprocess.

Steps: sign in, create a patient, find it in the list (live search), download the PDF report.
(The DICOM upload and dose-result steps are added with the dosimetry pages.)
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from live_server import serve, stop  # type: ignore[import-not-found]

CHROMIUM = "/usr/bin/chromium"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM),
        reason=f"Debian chromium not found at {CHROMIUM} (install it with scripts/install-system-deps.sh)",
    ),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from registry_world import PASSWORD, make_world  # type: ignore[import-not-found]

    from redif.registry.db import migrate, open_database

    d = tmp_path_factory.mktemp("serve")
    db = open_database(f"sqlite:///{d / 'redif.sqlite'}")
    migrate(db)
    make_world(db)
    db.dispose()
    proc, base = serve(d)
    _ = PASSWORD
    yield base
    stop(proc)


def test_login_create_patient_list_and_download_report(server: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright
    from registry_world import PASSWORD  # type: ignore[import-not-found]

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
            ],
        )
        try:
            page = browser.new_context(accept_downloads=True).new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(server + "/patients")
            expect(page).to_have_url(server + "/login?next=%2Fpatients")
            page.get_by_label("Username").fill("clin_a")
            page.get_by_label("Password").fill("wrong password")
            page.get_by_role("button", name="Sign in").click()
            expect(page.locator("#login-error")).to_contain_text("Wrong username or password")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            expect(page).to_have_url(server + "/patients")
            page.get_by_role("link", name="New patient").click()
            page.get_by_label("Pseudonym").fill("BROWSER-001")
            page.get_by_label("Sex").select_option("female")
            page.get_by_label("Birth year").fill("1962")
            page.get_by_label("Histology").select_option("papillary")  # coded (issue 10)
            page.get_by_role("button", name="Create patient").click()
            expect(page.get_by_role("heading", level=1)).to_have_text("Patient BROWSER-001")
            page.get_by_role("link", name="Patients").click()
            expect(page.get_by_role("link", name="BROWSER-001")).to_be_visible()
            search = page.get_by_label("Search pseudonym or histology")
            search.fill("NO-SUCH-PATIENT")  # htmx live search: rows replaced without a page load
            expect(page.locator("#patient-rows")).to_contain_text("No patients.")
            expect(page).to_have_url(server + "/patients")
            search.fill("BROWSER")
            page.get_by_role("button", name="Search").click()
            expect(page.locator("#patient-rows tr")).to_have_count(1)
            page.get_by_role("link", name="BROWSER-001").click()
            with page.expect_download() as dl:
                page.get_by_role("button", name="Download PDF report").click()
            path = tmp_path / "report.pdf"
            dl.value.save_as(path)
            assert path.read_bytes().startswith(b"%PDF")
            assert dl.value.suggested_filename == "redif-BROWSER-001.pdf"
            assert errors == []
        finally:
            browser.close()
