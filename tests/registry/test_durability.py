"""Durability: a bulk import killed with SIGKILL at random points leaves a SQLite database that opens,
passes ``PRAGMA integrity_check``, holds every acknowledged patient completely, and holds any other
patient completely or not at all (one transaction per patient, WAL, synchronous=FULL)."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from redif.registry.db import migrate, open_database
from redif.registry.models import Site

N_PATIENTS = 100
RECORDS_PER_PATIENT = 5  # 1 genotype + 1 course + 3 labs
TRIALS = 3
SEED = 1234


def _patients() -> list[dict[str, object]]:
    out = []
    for i in range(N_PATIENTS):
        out.append(
            {
                "pseudonym": f"D-{i:04d}",
                "sex": "female",
                "birth_year": 1950 + i % 40,
                "records": {
                    "genotypes": [{"gene": "BRAF", "variant": "V600E"}],
                    "courses": [{"drugs": "dabrafenib + trametinib", "days_before_uptake": 28}],
                    "labs": [{"analyte": "Tg", "value": float(v), "unit": "ng/mL"} for v in (1, 2, 3)],
                },
            }
        )
    return out


@pytest.mark.slow
def test_sigkill_during_import_keeps_acknowledged_patients(tmp_path: Path) -> None:
    template = tmp_path / "template"
    template.mkdir()
    db = open_database(f"sqlite:///{template / 'redif.sqlite'}")
    migrate(db)
    with db.write_session() as s:
        s.add(Site(code="A", name="Site A"))
    db.dispose()
    src = tmp_path / "patients.json"
    src.write_text(json.dumps(_patients()))
    rng = random.Random(SEED)
    for trial in range(TRIALS):
        d = tmp_path / f"trial{trial}"
        shutil.copytree(template, d)
        kill_after = rng.randrange(0, N_PATIENTS // 2)
        extra_delay = rng.uniform(0, 0.02)
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "redif",
                "admin",
                "import-patients",
                str(src),
                "--site",
                "A",
                "--data-dir",
                str(d),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        acked: list[str] = []
        assert proc.stdout is not None
        while len(acked) <= kill_after:
            line = proc.stdout.readline()
            if not line:
                break
            if line.startswith("ack "):
                acked.append(line.split()[1])
        time.sleep(extra_delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        # acks written before the kill but not yet read
        rest = proc.stdout.read()
        acked += [ln.split()[1] for ln in rest.splitlines() if ln.startswith("ack ")]
        assert proc.returncode == -signal.SIGKILL, proc.stderr.read() if proc.stderr else ""
        con = sqlite3.connect(d / "redif.sqlite")
        try:
            assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            rows = con.execute(
                "SELECT p.pseudonym, (SELECT count(*) FROM genotypes g WHERE g.patient_id = p.id)"
                " + (SELECT count(*) FROM redif_courses c WHERE c.patient_id = p.id)"
                " + (SELECT count(*) FROM lab_results l WHERE l.patient_id = p.id) FROM patients p"
            ).fetchall()
            n_audit_patients = con.execute(
                "SELECT count(*) FROM audit_events WHERE entity = 'patients' AND action = 'create'"
            ).fetchone()[0]
        finally:
            con.close()
        present = {p: n for p, n in rows}
        assert set(acked) <= set(present), f"trial {trial}: acknowledged patients missing"
        assert all(n == RECORDS_PER_PATIENT for n in present.values()), f"trial {trial}: partial patient"
        assert n_audit_patients == len(present)  # audit rows committed with their patients
        assert len(present) - len(acked) <= 1  # at most the one in flight when killed
        assert len(acked) >= min(kill_after, N_PATIENTS)
