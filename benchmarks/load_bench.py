"""Load benchmark of the REST API on loopback: `redif serve` in a subprocess, concurrent clients, a
bounded number of requests; throughput and p50/p99 latency for reading a patient (and pooling the
evidence when that endpoint exists), on SQLite and on PostgreSQL.

Baseline in the same run: ``GET /healthz`` (no database, no authentication) on the same server.

Usage::

    python benchmarks/load_bench.py [--requests 400] [--clients 8] [--patients 200]
                                    [--backend sqlite|postgresql|both] [--database-url URL]

PostgreSQL: ``--database-url`` of an empty database, or (default) a throwaway server started from
``/usr/lib/postgresql/*/bin`` with the test suite's helper.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _populate(url: str, n_patients: int) -> tuple[str, list[int]]:
    from redif.registry import auth
    from redif.registry import patients as reg
    from redif.registry.access import Principal, Role
    from redif.registry.db import migrate, open_database
    from redif.registry.models import Site

    db = open_database(url)
    migrate(db)
    with db.write_session(actor="bench") as s:
        s.add(Site(code="BENCH", name="Benchmark site (synthetic)"))
        s.flush()
        u = auth.create_user(
            s, username="bench", password="benchmark-password", role="site_clinician", site_code="BENCH"
        )
        token = auth.create_api_token(s, "bench", "bench")
        p = Principal(u.id, "bench", Role.SITE_CLINICIAN, u.site_id)
        ids = []
        for i in range(n_patients):
            pt = reg.create_patient(
                s, p, {"pseudonym": f"BENCH-{i:05d}", "sex": "female", "birth_year": 1960}
            )
            reg.add_record(s, p, pt.id, "genotypes", {"gene": "BRAF", "variant": "V600E"})
            reg.add_record(
                s, p, pt.id, "courses", {"drugs": "dabrafenib + trametinib", "days_before_uptake": 28}
            )
            for v in (10.0, 5.0, 2.5):
                reg.add_record(s, p, pt.id, "labs", {"analyte": "Tg", "value": v, "unit": "ng/mL"})
            ids.append(pt.id)
    db.dispose()
    return token, ids


def _drive(base: str, paths: list[str], headers: dict[str, str], clients: int) -> dict[str, float]:
    import httpx

    lat: list[float] = []
    errors = 0
    lock = threading.Lock()
    it = iter(paths)

    def worker() -> None:
        nonlocal errors
        with httpx.Client(base_url=base, headers=headers, timeout=60) as c:
            while True:
                with lock:
                    path = next(it, None)
                if path is None:
                    return
                t0 = time.perf_counter()
                r = c.get(path)
                dt = time.perf_counter() - t0
                with lock:
                    lat.append(dt)
                    if r.status_code != 200:
                        errors += 1

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    lat.sort()
    return {
        "n": len(lat),
        "errors": errors,
        "rps": len(lat) / wall,
        "p50_ms": 1000 * statistics.median(lat),
        "p99_ms": 1000 * lat[min(len(lat) - 1, int(0.99 * len(lat)))],
    }


def _evidence_path(base: str) -> str | None:
    import httpx

    paths = httpx.get(base + "/openapi.json", timeout=30).json().get("paths", {})
    for p, ops in paths.items():
        if "evidence" in p and ("pool" in p or "meta" in p) and "get" in ops and "{" not in p:
            return str(p)
    return None


def run_backend(
    name: str, url: str, data_dir: Path, args: argparse.Namespace
) -> list[tuple[str, dict[str, Any]]]:
    token, ids = _populate(url, args.patients)
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "redif",
            "serve",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
            "--database-url",
            url,
            "--workers",
            str(args.workers),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    import httpx

    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"server did not start: {proc.stderr.read() if proc.stderr else ''}")
        time.sleep(0.3)
    rng = random.Random(1)
    h = {"Authorization": f"Bearer {token}"}
    out: list[tuple[str, dict[str, Any]]] = []
    try:
        _drive(base, ["/healthz"] * 50, {}, args.clients)  # warm-up
        out.append(
            (f"{name}: GET /healthz (baseline)", _drive(base, ["/healthz"] * args.requests, {}, args.clients))
        )
        paths = [f"/api/v1/patients/{rng.choice(ids)}" for _ in range(args.requests)]
        out.append((f"{name}: GET /api/v1/patients/{{id}}", _drive(base, paths, h, args.clients)))
        ev = _evidence_path(base)
        if ev:
            out.append(
                (f"{name}: GET {ev}", _drive(base, [ev] * max(20, args.requests // 4), h, args.clients))
            )
        else:
            out.append((f"{name}: pool the evidence", {"note": "endpoint not available in this build"}))
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=400)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--patients", type=int, default=200)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    ap.add_argument(
        "--database-url", default=None, help="empty PostgreSQL database (else a throwaway server)"
    )
    args = ap.parse_args()
    results: list[tuple[str, dict[str, Any]]] = []
    with tempfile.TemporaryDirectory() as tmp:
        if args.backend in ("sqlite", "both"):
            d = Path(tmp) / "sqlite"
            d.mkdir()
            results += run_backend("SQLite", f"sqlite:///{d / 'redif.sqlite'}", d, args)
        if args.backend in ("postgresql", "both"):
            d = Path(tmp) / "pg"
            d.mkdir()
            url = args.database_url
            server = None
            if url is None:
                from pg_server import shared_server  # type: ignore[import-not-found]

                server = shared_server()
                if isinstance(server, str):
                    print(f"PostgreSQL skipped: {server}")
                else:
                    url = server.new_database()
            if url:
                results += run_backend("PostgreSQL", url, d, args)
    print(
        f"\nredif load benchmark: {args.requests} requests per row, {args.clients} concurrent clients, "
        f"{args.patients} patients, {args.workers} server worker(s), loopback"
    )
    print(f"{'scenario':46s} {'req/s':>9s} {'p50 ms':>9s} {'p99 ms':>9s} {'errors':>7s}")
    for label, r in results:
        if "note" in r:
            print(f"{label:46s} {r['note']}")
        else:
            print(f"{label:46s} {r['rps']:9.1f} {r['p50_ms']:9.2f} {r['p99_ms']:9.2f} {r['errors']:7d}")


if __name__ == "__main__":
    main()
