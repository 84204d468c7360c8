"""Synthetic demo data for ``redif serve --demo``: clearly labelled sites, users and patients.

Every demo site code starts with ``DEMO-``, every pseudonym with ``DEMO-``, every site and patient row
has ``is_demo = True``, the database is marked ``demo`` in ``registry_meta``, and every page of the app
shows a demo banner. :func:`load_demo` refuses to write into a database that holds data and is not a
demo database. The clinical values are random draws from plausible ranges for a software demonstration,
not data from any patient or study.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select

from redif.errors import InputError
from redif.registry import auth
from redif.registry import patients as reg
from redif.registry.access import Principal, Role
from redif.registry.db import Database
from redif.registry.models import MetaEntry, Patient, Site, User

__all__ = ["DEMO_PASSWORD", "DEMO_USERS", "DemoLogin", "load_demo"]

#: Password of every demo account (printed by ``redif serve --demo``; demo databases only).
DEMO_PASSWORD = "demo-password-not-secret"


@dataclass(frozen=True)
class DemoLogin:
    """A demo account."""

    username: str
    role: Role
    site: str | None


DEMO_USERS: tuple[DemoLogin, ...] = (
    DemoLogin("demo-clinician-a", Role.SITE_CLINICIAN, "DEMO-A"),
    DemoLogin("demo-physicist-a", Role.SITE_PHYSICIST, "DEMO-A"),
    DemoLogin("demo-clinician-b", Role.SITE_CLINICIAN, "DEMO-B"),
    DemoLogin("demo-coordinator", Role.COORDINATOR, None),
    DemoLogin("demo-auditor", Role.AUDITOR, None),
    DemoLogin("demo-admin", Role.ADMIN, None),
)

_GENOTYPES = (
    ("BRAF", "V600E", None),
    ("NRAS", "Q61R", None),
    ("HRAS", "Q61K", None),
    ("RET", None, "CCDC6"),
    ("NTRK1", None, "TPM3"),
    ("BRAF", "V600E", None),
)
_DRUGS = {
    "BRAF": "dabrafenib + trametinib",
    "NRAS": "trametinib",
    "HRAS": "selumetinib",
    "RET": "selpercatinib",
    "NTRK1": "larotrectinib",
}


#: RAI-refractoriness criteria of the demo patients (codes of the model's vocabulary).
_CRITERIA = (
    "ata2025_strong_no_uptake_post_therapy",
    "ata2025_strong_progression_despite_uptake",
    "ata2015_never_concentrates",
    "ata2015_loses_ability",
)


def _is_demo(db: Database) -> bool:
    return db.is_demo()


def load_demo(db: Database, *, n_patients_per_site: int = 8, seed: int = 20250101) -> list[DemoLogin]:
    """Fill a new or demo database with synthetic demo data (idempotent); return the demo logins."""
    with db.write_session(actor="demo-loader") as s:
        flag = s.get(MetaEntry, "demo")
        n_rows = (
            s.execute(select(func.count(Site.id))).scalar_one()
            + s.execute(select(func.count(User.id))).scalar_one()
            + s.execute(select(func.count(Patient.id))).scalar_one()
        )
        if flag is None or flag.value != "true":
            if n_rows:
                raise InputError(
                    "refusing to load demo data into a database that holds real data",
                    field="--database-url",
                    remedy="run `redif serve --demo` without --database-url (it uses its own "
                    "redif-demo.sqlite) or point it at an empty database",
                )
            s.add(MetaEntry(key="demo", value="true"))
            s.flush()
        if s.execute(select(Site.id).where(Site.code == "DEMO-A")).first():
            return list(DEMO_USERS)
        for code, name in (
            ("DEMO-A", "Demo Hospital A (synthetic)"),
            ("DEMO-B", "Demo Hospital B (synthetic)"),
        ):
            s.add(Site(code=code, name=name, is_demo=True))
        s.flush()
        sites = {x.code: x.id for x in s.execute(select(Site)).scalars()}
        shared_hash = auth.hash_password(DEMO_PASSWORD)  # one argon2id hash: every demo account shares it
        for u in DEMO_USERS:
            s.add(User(username=u.username, password_hash=shared_hash, role=u.role.value,
                       site_id=sites[u.site] if u.site else None))
        rng = random.Random(seed)
        admin = Principal(user_id=0, username="demo-loader", role=Role.ADMIN, site_id=None)
        for site in ("DEMO-A", "DEMO-B"):
            for i in range(1, n_patients_per_site + 1):
                gene, variant, partner = rng.choice(_GENOTYPES)
                start = date(2021, 1, 1) + timedelta(days=rng.randrange(0, 900))
                p = reg.create_patient(
                    s,
                    admin,
                    {
                        "pseudonym": f"{site}-{i:03d}",
                        "site": site,
                        "sex": rng.choice(["female", "male"]),
                        "birth_year": rng.randrange(1945, 1990),
                        "histology": rng.choice(
                            ["papillary", "follicular", "oncocytic", "poorly_differentiated"]
                        ),
                        "rai_refractory_criterion": _CRITERIA[i % len(_CRITERIA)],
                        "diagnosis_date": (start - timedelta(days=rng.randrange(700, 3000))).isoformat(),
                    },
                )
                reg.add_record(
                    s,
                    admin,
                    p.id,
                    "genotypes",
                    {"gene": gene, "variant": variant, "fusion_partner": partner, "assay": "demo NGS"},
                )
                days = rng.choice([28, 35, 42])
                reg.add_record(
                    s,
                    admin,
                    p.id,
                    "courses",
                    {
                        "drugs": _DRUGS[gene],
                        "start_date": start.isoformat(),
                        "stop_date": (start + timedelta(days=days + 7)).isoformat(),
                        "days_before_uptake": days,
                        "tsh_stimulation": "rhtsh",
                        "low_iodine_diet": True,
                    },
                )
                restored = rng.random() < 0.6
                reg.add_record(
                    s,
                    admin,
                    p.id,
                    "uptake",
                    {
                        "assessment_date": (start + timedelta(days=days)).isoformat(),
                        "modality": "pet_ct",
                        "tracer": "I-124",
                        "activity_mbq": 74.0,
                        "restored": restored,
                        "restored_definition": "increased_124i_uptake",
                    },
                )
                if restored:
                    reg.add_record(
                        s,
                        admin,
                        p.id,
                        "dosimetry",
                        {
                            "kind": "lesion",
                            "method": "i124_pet_lesion",
                            "lesion_label": "L1",
                            "absorbed_dose_gy": round(rng.uniform(5, 400), 1),
                        },
                    )
                    reg.add_record(
                        s,
                        admin,
                        p.id,
                        "administrations",
                        {
                            "administration_date": (start + timedelta(days=days + 7)).isoformat(),
                            "activity_gbq": rng.choice([3.7, 5.5, 7.4]),
                            "basis": "empiric",
                        },
                    )
                    response = rng.choice(["PR", "SD", "SD", "PD"])
                    reg.add_record(
                        s,
                        admin,
                        p.id,
                        "responses",
                        {
                            "assessment_date": (start + timedelta(days=days + 180)).isoformat(),
                            "overall_response": response,
                        },
                    )
                    if response == "PD":
                        progressed = start + timedelta(days=days + 180)
                        reg.update_patient(s, admin, p.id, {"progression_date": progressed.isoformat(),
                                                            "progression_criterion": "recist_1_1"})
                        reg.add_record(
                            s,
                            admin,
                            p.id,
                            "next-therapy",
                            {
                                "drugs": "lenvatinib",
                                "therapy_class": "multikinase_inhibitor",
                                "start_date": (progressed + timedelta(days=30)).isoformat(),
                            },
                        )
                reg.add_record(
                    s,
                    admin,
                    p.id,
                    "labs",
                    {
                        "sample_date": start.isoformat(),
                        "analyte": "Tg",
                        "value": round(rng.uniform(1, 500), 1),
                        "unit": "ng/mL",
                    },
                )
    return list(DEMO_USERS)
