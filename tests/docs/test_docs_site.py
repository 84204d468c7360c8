"""Issue 16 (item 4): the documentation site builds with ``mkdocs build --strict``.

Strict mode (with the link and anchor validation of ``mkdocs.yml``) turns every warning into an error: a
broken link, a missing anchor, a page missing from the nav, a docstring mkdocstrings cannot render. The
build runs once per session into a temporary folder; the checks below read the built pages.

Expected values: exit status 0 (closed form); the command-line reference lists every command of the
typer command tree (read from ``redif.cli.main.app`` itself, not from a copy); every API reference page
renders the package's objects; the methods pages and the getting-started page of each user exist.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from redif.cli.main import app

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("evidence", "dosimetry", "response", "design", "pathway", "model", "registry", "ipd",
            "federated", "io")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "PYTHONPATH": str(ROOT / "src")}
    r = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(ROOT / "mkdocs.yml"), "-d", str(out)],
        cwd=ROOT, capture_output=True, text=True, env=env, timeout=900,
    )
    assert r.returncode == 0, "mkdocs build --strict failed:\n" + "\n".join(
        line for line in (r.stdout + r.stderr).splitlines() if not line.startswith("INFO")
    )[-6000:]
    return out


def _command_paths(cmd: object, path: tuple[str, ...]) -> list[str]:
    out = [" ".join(path)]
    for name, sub in sorted(getattr(cmd, "commands", {}).items()):
        if not getattr(sub, "hidden", False):
            out += _command_paths(sub, (*path, name))
    return out


def test_strict_build_and_cli_reference_lists_every_command(site: Path) -> None:
    html = (site / "reference" / "cli" / "index.html").read_text(encoding="utf-8")
    commands = _command_paths(typer.main.get_command(app), ("redif",))
    assert len(commands) > 50
    missing = [c for c in commands if f"<code>{c}</code>" not in html]
    assert not missing, f"commands missing from the CLI reference: {missing}"
    assert "--json" in html and "Exit codes" in html


def test_api_reference_page_per_package(site: Path) -> None:
    for pkg in PACKAGES:
        page = (site / "reference" / "api" / pkg / "index.html").read_text(encoding="utf-8")
        assert f"redif.{pkg}" in page
        assert page.count("doc-heading") >= 5, f"redif.{pkg}: the API page rendered almost nothing"


def test_user_and_methods_pages_exist(site: Path) -> None:
    for user in ("clinician", "physicist", "trialist", "coordinator"):
        assert (site / "getting-started" / user / "index.html").is_file()
    for page in ("minimum-data-set", "dosimetry", "response", "statistics", "refractoriness", "protocols",
                 "sources-and-grades"):
        assert (site / "methods" / page / "index.html").is_file()
