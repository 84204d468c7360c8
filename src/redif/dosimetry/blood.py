"""Blood and red-marrow dosimetry: the activity safety limits of high-activity 131I therapy.

* EANM SOP blood dose per administered activity (Lassmann et al. 2008), in the widely quoted form
  D_blood/A₀ [Gy/GBq] = c_β·ã_blood [h/mL] + c_γ/W[kg]^(2/3)·ã_WB [h]; the constants c_β = 108 and
  c_γ = 0.0188 are graded **unverified** in ``dosimetry_thresholds.yaml`` and can be overridden.
* Maximum tolerable activity MTA = D_limit / (D_blood/A₀) with D_limit = 2 Gy (EANM SOP).
* 48-h whole-body retention limits (Benua 1962): retention < 4.44 GBq, < 3.0 GBq with diffuse lung
  metastases -> A_max = limit / r₄₈ with r₄₈ the retained fraction at 48 h.
* Red marrow from blood: RMBLR = 0.19/(1 − Hct) (Sgouros 1993; graded unverified).

References
----------
Lassmann M, Hänscheid H, Chiesa C, et al. EANM Dosimetry Committee series on standard operational
procedures for pre-therapeutic dosimetry I: blood and bone marrow dosimetry in differentiated thyroid
cancer therapy. Eur J Nucl Med Mol Imaging 2008;35:1405-1412. PMID 18491092.
Benua RS, Cicale NR, Sonenberg M, Rawson RW. The relation of radioiodine dosimetry to results and
complications in the treatment of metastatic thyroid cancer. AJR 1962;87:171-182.
Sgouros G. Bone marrow dosimetry for radioimmunotherapy: theoretical considerations. J Nucl Med
1993;34:689-694.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from redif.data import SourcedValue, sourced_value
from redif.errors import InputError

__all__ = [
    "BloodDose",
    "RetentionLimit",
    "blood_dose_per_activity",
    "red_marrow_blood_ratio",
    "red_marrow_tia_h",
    "retention_limited_activity",
]

_FILE = "dosimetry_thresholds.yaml"


def _sv(key: str) -> SourcedValue:
    return sourced_value(_FILE, key)


def _positive(name: str, value: float, *, allow_zero: bool = False) -> float:
    ok = math.isfinite(value) and (value >= 0 if allow_zero else value > 0)
    if not ok:
        raise InputError(f"must be a finite number {'>=' if allow_zero else '>'} 0", field=name, value=value)
    return float(value)


@dataclass(frozen=True)
class BloodDose:
    """Blood absorbed dose per administered 131I activity and the activity that keeps it under a limit."""

    dose_per_activity_gy_per_gbq: float
    beta_term_gy_per_gbq: float
    gamma_term_gy_per_gbq: float
    limit_gy: float
    mta_gbq: float
    constants: tuple[SourcedValue, ...]
    rule: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "dose_per_activity_gy_per_gbq": self.dose_per_activity_gy_per_gbq,
            "mta_gbq": self.mta_gbq,
            "beta_term_gy_per_gbq": self.beta_term_gy_per_gbq,
            "gamma_term_gy_per_gbq": self.gamma_term_gy_per_gbq,
            "limit_gy": self.limit_gy,
            "rule": self.rule,
            "constants": [c.to_dict() for c in self.constants],
        }


def blood_dose_per_activity(
    *,
    weight_kg: float,
    wholebody_tia_h: float,
    blood_tia_h_per_ml: float,
    limit_gy: float | None = None,
    beta_coefficient: float | None = None,
    gamma_coefficient: float | None = None,
) -> BloodDose:
    """EANM SOP blood dose per administered activity (Gy/GBq) and maximum tolerable activity (GBq).

    Parameters
    ----------
    weight_kg
        Patient weight, kg.
    wholebody_tia_h
        Whole-body time-integrated activity coefficient (residence time) of 131I, h.
    blood_tia_h_per_ml
        Time-integrated activity coefficient of 1 mL of blood, h/mL.
    limit_gy
        Blood dose limit (default 2 Gy, EANM SOP, from the data file).
    beta_coefficient, gamma_coefficient
        Override the unverified formula constants (defaults 108 and 0.0188 from the data file).

    References
    ----------
    Lassmann et al. 2008, PMID 18491092 (EANM SOP).
    """
    w = _positive("weight_kg", weight_kg)
    twb = _positive("wb_tia_h", wholebody_tia_h, allow_zero=True)
    tbl = _positive("blood_tia_h_per_ml", blood_tia_h_per_ml, allow_zero=True)
    cb_sv, cg_sv, lim_sv = (
        _sv("blood_formula_beta_coefficient"),
        _sv("blood_formula_gamma_coefficient"),
        _sv("blood_dose_limit"),
    )
    consts: list[SourcedValue] = []
    cb = float(cb_sv.value) if beta_coefficient is None else _positive("beta_coefficient", beta_coefficient)
    cg = (
        float(cg_sv.value) if gamma_coefficient is None else _positive("gamma_coefficient", gamma_coefficient)
    )
    lim = float(lim_sv.value) if limit_gy is None else _positive("limit_gy", limit_gy)
    consts.append(cb_sv if beta_coefficient is None else _override(cb_sv, cb))
    consts.append(cg_sv if gamma_coefficient is None else _override(cg_sv, cg))
    consts.append(lim_sv if limit_gy is None else _override(lim_sv, lim))
    beta = cb * tbl
    gamma = cg / w ** (2.0 / 3.0) * twb
    d = beta + gamma
    if d <= 0:
        raise InputError(
            "blood dose per activity is zero: no activity retained",
            field="blood_tia_h_per_ml",
            value=blood_tia_h_per_ml,
            remedy="give the measured blood and whole-body TIAs",
        )
    rule = (
        f"D_blood/A0 = {cb:g}*blood_tia_h_per_ml + {cg:g}/W^(2/3)*wb_tia_h (EANM SOP, Lassmann 2008; "
        f"constants {cb_sv.grade.value}); MTA = {lim:g} Gy / (D_blood/A0)"
    )
    return BloodDose(d, beta, gamma, lim, lim / d, tuple(consts), rule)


def _override(sv: SourcedValue, value: float) -> SourcedValue:
    return SourcedValue(
        sv.name, value, sv.unit, f"user override (default {sv.value} from {sv.source})", sv.grade
    )


@dataclass(frozen=True)
class RetentionLimit:
    """Largest activity whose 48-h whole-body retention stays under the Benua limit."""

    activity_gbq: float
    retention_fraction_48h: float
    limit_gbq: float
    lung_metastases: bool
    constants: tuple[SourcedValue, ...]
    rule: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "activity_gbq": self.activity_gbq,
            "retention_fraction_48h": self.retention_fraction_48h,
            "limit_gbq": self.limit_gbq,
            "lung_metastases": self.lung_metastases,
            "rule": self.rule,
            "constants": [c.to_dict() for c in self.constants],
        }


def retention_limited_activity(
    retention_fraction_48h: float, *, lung_metastases: bool = False
) -> RetentionLimit:
    """A_max = L / r₄₈ with L = 4.44 GBq (3.0 GBq with diffuse lung metastases).

    ``retention_fraction_48h`` is the fraction of administered 131I still in the body at 48 h (not
    decay-corrected), e.g. ``fit.predict(48, "I-131")`` of a whole-body fit or
    e^(−ln2·48/T_eff) for mono-exponential clearance.

    References
    ----------
    Benua et al. 1962, as restated in PMC5724631 [secondary].
    """
    r = _positive("retention_fraction_48h", retention_fraction_48h)
    if r > 1.0:
        raise InputError("retention fraction cannot exceed 1", field="retention_fraction_48h", value=r)
    key = (
        "wholebody_retention_48h_limit_lung_metastases"
        if lung_metastases
        else "wholebody_retention_48h_limit"
    )
    lim = _sv(key)
    rule = (
        f"48-h whole-body retention <= {lim.value} GBq"
        f"{' (diffuse lung metastases)' if lung_metastases else ''} (Benua 1962, {lim.grade.value}); "
        f"A_max = {lim.value} / {r:.4g}"
    )
    return RetentionLimit(
        float(lim.value) / r,
        r,
        float(lim.value),
        lung_metastases,
        (lim, _sv("wholebody_retention_time")),
        rule,
    )


def red_marrow_blood_ratio(haematocrit: float) -> float:
    """Red-marrow-to-blood activity concentration ratio RMBLR = 0.19/(1 − Hct) (Sgouros 1993, unverified)."""
    h = float(haematocrit)
    if not (math.isfinite(h) and 0 < h < 1):
        raise InputError(
            "haematocrit must be a fraction between 0 and 1",
            field="haematocrit",
            value=haematocrit,
            remedy="give e.g. 0.42, not 42",
        )
    return float(_sv("rmblr_numerator").value) / (1.0 - h)


def red_marrow_tia_h(blood_tia_h_per_ml: float, red_marrow_mass_g: float, haematocrit: float) -> float:
    """Red-marrow TIA coefficient (h): ã_RM = RMBLR · m_RM · ã_blood (per mL, blood ≈ 1 g/mL).

    References
    ----------
    Sgouros 1993 (RMBLR); docs/methods/dosimetry.md §6.
    """
    tbl = _positive("blood_tia_h_per_ml", blood_tia_h_per_ml, allow_zero=True)
    m = _positive("red_marrow_mass_g", red_marrow_mass_g)
    return red_marrow_blood_ratio(haematocrit) * m * tbl
