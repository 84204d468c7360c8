"""Load benchmark of the REST API on loopback: `redif serve` in a subprocess, concurrent clients, a
bounded number of requests; throughput and p50/p99 latency for reading a patient (every read writes an
audit ``read`` event, in batches), writing a patient (``PATCH``), and both while a login flood runs
beside them (clients posting wrong passwords to ``/login`` and sending unknown bearer tokens to the
API), and pooling the evidence when that endpoint exists, on SQLite and on PostgreSQL.

Baselines in the same run: ``GET /healthz`` (no database, no authentication) on the same server, and
the same reads and writes without the flood.

Usage::

    python benchmarks/load_bench.py [--requests 400] [--clients 8] [--patients 200]
                                    [--writes 60] [--flood-clients 4]
                                    [--backend sqlite|postgresql|both] [--database-url URL]

PostgreSQL: ``--database-url`` of an empty database, or (default) a throwaway server started from
``/usr/lib/postgresql/*/bin`` with the test suite's helper.
"""

from __future__ import annotations

import argparse
import os
import random
import re
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


def _populate(url: str, data_dir: Path, n_patients: int) -> tuple[str, list[int]]:
    from redif.registry import auth
    from redif.registry import patients as reg
    from redif.registry.access import Principal, Role
    from redif.registry.db import migrate, open_database
    from redif.registry.models import Site

    db = open_database(url, data_dir=data_dir)  # the server's data dir: same audit key and checkpoints
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


Req = tuple[str, str, dict[str, Any] | None]  # method, path, JSON body


def _drive(base: str, reqs: list[Req], headers: dict[str, str], clients: int) -> dict[str, float]:
    """Send ``reqs`` from ``clients`` threads; throughput and latency (a non-2xx answer is an error)."""
    import httpx

    lat: list[float] = []
    errors = 0
    lock = threading.Lock()
    it = iter(reqs)

    def worker() -> None:
        nonlocal errors
        with httpx.Client(base_url=base, headers=headers, timeout=60) as c:
            while True:
                with lock:
                    req = next(it, None)
                if req is None:
                    return
                method, path, body = req
                t0 = time.perf_counter()
                r = c.request(method, path, json=body)
                dt = time.perf_counter() - t0
                with lock:
                    lat.append(dt)
                    if not 200 <= r.status_code < 300:
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


def _gets(paths: list[str]) -> list[Req]:
    return [("GET", p, None) for p in paths]


class _LoginFlood:
    """Clients sending wrong credentials until stopped: half post the sign-in form with a wrong password
    (a fresh username each time, so that throttling never short-cuts the password hash), half call the
    API with unknown bearer tokens. Counts the attempts and their answers."""

    def __init__(self, base: str, clients: int) -> None:
        self.base = base
        self.clients = clients
        self.stop = threading.Event()
        self.n = 0
        self.unexpected = 0
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def _form(self, k: int) -> None:
        import httpx

        with httpx.Client(base_url=self.base, timeout=60) as c:
            page = c.get("/login")
            m = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
            csrf = m.group(1) if m else ""
            i = 0
            while not self.stop.is_set():
                i += 1
                r = c.post(
                    "/login",
                    data={"username": f"flood{k}x{i}", "password": "wrong-password-123", "csrf_token": csrf},
                )
                self._count(r.status_code in (401, 429))

    def _api(self, k: int) -> None:
        import httpx

        with httpx.Client(base_url=self.base, timeout=60) as c:
            i = 0
            while not self.stop.is_set():
                i += 1
                r = c.get("/api/v1/me", headers={"Authorization": f"Bearer rdf_flood{k}x{i}"})
                self._count(r.status_code == 401)

    def _count(self, expected: bool) -> None:
        with self._lock:
            self.n += 1
            self.unexpected += 0 if expected else 1

    def __enter__(self) -> _LoginFlood:
        for k in range(self.clients):
            target = self._form if k % 2 == 0 else self._api
            t = threading.Thread(target=target, args=(k,), daemon=True)
            t.start()
            self._threads.append(t)
        time.sleep(1.0)  # let the flood build up
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop.set()
        for t in self._threads:
            t.join(timeout=60)


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
    token, ids = _populate(url, data_dir, args.patients)
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
        _drive(base, _gets(["/healthz"] * 50), {}, args.clients)  # warm-up
        out.append(
            (
                f"{name}: GET /healthz (baseline)",
                _drive(base, _gets(["/healthz"] * args.requests), {}, args.clients),
            )
        )
        reads = _gets([f"/api/v1/patients/{rng.choice(ids)}" for _ in range(args.requests)])
        out.append((f"{name}: GET /api/v1/patients/{{id}} (audited)", _drive(base, reads, h, args.clients)))
        writes: list[Req] = [
            ("PATCH", f"/api/v1/patients/{rng.choice(ids)}", {"histology": f"papillary {i}"})
            for i in range(args.writes)
        ]
        out.append((f"{name}: PATCH /api/v1/patients/{{id}}", _drive(base, writes, h, 1)))
        with _LoginFlood(base, args.flood_clients) as flood:
            t0 = time.perf_counter()
            read_row: dict[str, Any] = {}
            reader = threading.Thread(
                target=lambda: read_row.update(_drive(base, reads, h, args.clients)), daemon=True
            )
            reader.start()
            write_row = _drive(base, writes, h, 1)
            reader.join()
            wall = time.perf_counter() - t0
        out.append((f"{name}: GET patient + login flood", read_row))
        out.append((f"{name}: PATCH patient + login flood", write_row))
        out.append(
            (
                f"{name}: login flood (wrong credentials)",
                {
                    "note": f"{flood.n} attempts in {wall:.1f} s ({flood.n / wall:.1f}/s), "
                    f"{flood.clients} clients, {flood.unexpected} unexpected answers"
                },
            )
        )
        ev = _evidence_path(base)
        if ev:
            out.append(
                (
                    f"{name}: GET {ev}",
                    _drive(base, _gets([ev] * max(20, args.requests // 4)), h, args.clients),
                )
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
    ap.add_argument("--writes", type=int, default=60, help="PATCH requests per write row (one client)")
    ap.add_argument("--flood-clients", type=int, default=4, help="clients sending wrong credentials")
    ap.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    ap.add_argument(
        "--database-url", default=None, help="empty PostgreSQL database (else a throwaway server)"
    )
    args = ap.parse_args()
    load_before = os.getloadavg()
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
        f"{args.patients} patients, {args.workers} server worker(s), loopback; load average before: "
        f"{' '.join(f'{x:.2f}' for x in load_before)}, after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    print(f"{'scenario':50s} {'req/s':>9s} {'p50 ms':>9s} {'p99 ms':>9s} {'errors':>7s}")
    for label, r in results:
        if "note" in r:
            print(f"{label:50s} {r['note']}")
        else:
            print(f"{label:50s} {r['rps']:9.1f} {r['p50_ms']:9.2f} {r['p99_ms']:9.2f} {r['errors']:7d}")


if __name__ == "__main__":
    main()
