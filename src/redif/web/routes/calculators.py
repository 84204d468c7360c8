"""Public calculators (no account, no patient data): TIA, lesion and blood dosimetry pages and their
``/api/v1/calc/*`` endpoints. Thin: parse -> the engine the ``redif dose`` CLI calls -> render. Input
errors are shown next to their field (``InputError.field``) on the pages and answered 422 by the API."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from redif import DISCLAIMER
from redif.cli._common import parse_float_list, to_jsonable
from redif.dosimetry.blood import blood_dose_per_activity
from redif.dosimetry.kinetics import ValueUnit
from redif.dosimetry.lesion import lesion_dose
from redif.dosimetry.nuclides import THERAPY_NUCLIDE, get_nuclide
from redif.dosimetry.tia import estimate_tia, parse_kinetic_model, parse_value_unit
from redif.errors import InputError
from redif.registry.access import Permission
from redif.web.deps import render
from redif.web.engines import is_partial
from redif.web.nav import add_nav_item
from redif.web.security import requires

__all__ = [
    "CALC_FIELDS", "Plausible", "api_router", "blood", "check_plausible", "lesion", "number", "router", "tia",
]

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api/v1/calc", tags=["calculators"])
add_nav_item("Calculators", "/calc", Permission.PUBLIC)

_MAX_SAMPLES = 5000


@dataclass(frozen=True)
class Plausible:
    """The plausible range of one calculator input (both ends inclusive) and why."""

    low: float
    high: float
    unit: str
    basis: str
    #: Positive values below this are refused too (measured values: 0 is "not detected", a positive
    #: value below the smallest measurable one is a typing or unit error).
    smallest_positive: float = 0.0


#: Mean life T1/2 / ln 2 (h) of the therapy nuclide (I-131): the time-integrated activity coefficient of
#: activity that is never cleared (physical decay only), hence the upper bound of every TIA coefficient.
_I131_MEAN_LIFE_H = get_nuclide(THERAPY_NUCLIDE).half_life_h / math.log(2.0)

#: Plausible ranges of the calculator inputs, shared by the pages and the ``/api/v1/calc`` endpoints
#: (one validation, one message). Bounds are physical limits or generous clinical limits (basis given).
CALC_FIELDS: dict[str, Plausible] = {
    "times_h": Plausible(0.0, 2000.0, "h", "measurements within about 10 I-131 half-lives (1925 h) of "
                         "intake"),
    "values": Plausible(0.0, 1.5, "", "a fraction of the administered activity (at most 1, plus 50% "
                        "allowance for calibration error; 0 or at least 1e-9)", smallest_positive=1e-9),
    "values_mbq": Plausible(0.0, 1e5, "MBq", "at most 100 GBq, above any administered 131I activity; 0 or "
                            "at least 1 Bq", smallest_positive=1e-6),
    "mass_g": Plausible(0.01, 1000.0, "g", "the range of the sphere S-value table (S is not extrapolated)"),
    "tia_h": Plausible(1e-4, _I131_MEAN_LIFE_H, "h", "at most the I-131 mean life T1/2/ln 2 (ICRP 107): "
                       "all activity retained, physical decay only"),
    "target_gy": Plausible(1.0, 1000.0, "Gy", "lesion targets are tens to a few hundred Gy (Maxon 1983)"),
    "weight_kg": Plausible(0.5, 650.0, "kg", "from a premature newborn to the heaviest recorded patients"),
    "wb_tia_h": Plausible(1e-3, _I131_MEAN_LIFE_H, "h", "at most the I-131 mean life T1/2/ln 2 (ICRP 107)"),
    "blood_tia_h_per_ml": Plausible(1e-7, _I131_MEAN_LIFE_H, "h/mL", "at most all activity kept in 1 mL of "
                                    "blood for the I-131 mean life"),
    "limit_gy": Plausible(0.1, 10.0, "Gy", "the EANM blood limit is 2 Gy (Benua 1962)"),
}


def check_plausible(name: str, value: float, *, key: str | None = None) -> float:
    """Refuse a value outside the plausible range of ``CALC_FIELDS[key or name]`` (naming ``name``)."""
    rng = CALC_FIELDS.get(key or name)
    if rng is not None and (not rng.low <= value <= rng.high or 0 < value < rng.smallest_positive):
        unit = f" {rng.unit}" if rng.unit else ""
        raise InputError(f"outside the plausible range {rng.low:g} to {rng.high:.6g}{unit}", field=name,
                         value=value, remedy=rng.basis)
    return value


# --------------------------------------------------------------------------------------------------
# parsing (form strings -> numbers, naming the field)
# --------------------------------------------------------------------------------------------------


def number(params: Mapping[str, Any], name: str, *, required: bool = True, positive: bool = False
           ) -> float | None:
    """A finite float from ``params[name]``, within ``CALC_FIELDS[name]`` when listed there; ``None``
    when blank and not required."""
    raw = params.get(name)
    text = "" if raw is None else str(raw).strip()
    if text == "":
        if required:
            raise InputError("required", field=name, remedy="enter a number")
        return None
    try:
        value = float(text)
    except ValueError:
        raise InputError("not a number", field=name, value=text, remedy="enter a number, e.g. 2.5") from None
    if not math.isfinite(value):
        raise InputError("not a finite number", field=name, value=text)
    if positive and value <= 0:
        raise InputError("must be greater than 0", field=name, value=text)
    return check_plausible(name, value)


def _floats(params: Mapping[str, Any], name: str, *, key: str | None = None) -> list[float]:
    """Comma-separated finite floats, each within ``CALC_FIELDS[key or name]``."""
    raw = str(params.get(name) or "").strip()
    if not raw:
        raise InputError("required", field=name, remedy="enter comma-separated numbers, e.g. 4, 24, 48")
    try:
        values = parse_float_list(raw.replace(";", ","), option=name)
    except InputError as exc:
        raise InputError(exc.message if hasattr(exc, "message") else str(exc), field=name, value=raw,
                         remedy="comma-separated numbers, e.g. 4, 24, 48") from None
    for v in values:
        if not math.isfinite(v):
            raise InputError("not a finite number", field=name, value=raw)
        check_plausible(name, v, key=key)
    return values


def _flag(params: Mapping[str, Any], name: str) -> bool:
    return str(params.get(name) or "").lower() in ("1", "true", "on", "yes")


# --------------------------------------------------------------------------------------------------
# the three calculations (shared by pages and API)
# --------------------------------------------------------------------------------------------------


def tia(params: Mapping[str, Any]) -> dict[str, Any]:
    """Fit a time-activity curve and integrate it (``redif dose tia``: the same engine function)."""
    times = _floats(params, "times_h")
    model = parse_kinetic_model(str(params.get("model") or "auto"))
    unit = parse_value_unit(str(params.get("unit") or "fraction"))
    raw_samples = number(params, "samples", required=False)
    samples = 1000 if raw_samples is None else int(raw_samples)
    if (raw_samples is not None and raw_samples != samples) or not 0 <= samples <= _MAX_SAMPLES:
        raise InputError(f"a whole number from 0 to {_MAX_SAMPLES}", field="samples", value=raw_samples)
    values = _floats(params, "values", key="values_mbq" if unit is ValueUnit.MBQ else "values")
    est = estimate_tia(times, values, model=model, unit=unit,
                       decay_corrected=_flag(params, "decay_corrected"), nuclide=THERAPY_NUCLIDE,
                       samples=samples, seed=0)
    out = est.to_dict()
    out["constants"] = est.constants()
    out["disclaimer"] = DISCLAIMER
    return out


def lesion(params: Mapping[str, Any]) -> dict[str, Any]:
    """Lesion dose per activity, sphere model (``redif dose lesion``)."""
    mass = number(params, "mass_g", positive=True)
    tia_h = number(params, "tia_h", positive=True)
    target = number(params, "target_gy", required=False, positive=True)
    assert mass is not None and tia_h is not None
    res = lesion_dose(mass_g=mass, tia_h=tia_h, nuclide=THERAPY_NUCLIDE, target_gy=target)
    return {**res.to_dict(), "disclaimer": DISCLAIMER}


def blood(params: Mapping[str, Any]) -> dict[str, Any]:
    """EANM SOP blood dose per activity and maximum tolerable activity (``redif dose blood``)."""
    weight = number(params, "weight_kg", positive=True)
    wb = number(params, "wb_tia_h", positive=True)
    bl = number(params, "blood_tia_h_per_ml", positive=True)
    limit = number(params, "limit_gy", required=False, positive=True)
    assert weight is not None and wb is not None and bl is not None
    res = blood_dose_per_activity(weight_kg=weight, wholebody_tia_h=wb, blood_tia_h_per_ml=bl, limit_gy=limit)
    return {**res.to_dict(), "disclaimer": DISCLAIMER}


# --------------------------------------------------------------------------------------------------
# pages
# --------------------------------------------------------------------------------------------------

_PAGES: dict[str, tuple[str, Callable[[Mapping[str, Any]], dict[str, Any]], tuple[str, ...]]] = {
    "tia": ("Time-integrated activity", tia, ("times_h", "values")),
    "lesion": ("Lesion dosimetry", lesion, ("mass_g", "tia_h")),
    "blood": ("Blood dosimetry (EANM SOP)", blood, ("weight_kg", "wb_tia_h", "blood_tia_h_per_ml")),
}


def _page(request: Request, kind: str) -> Response:
    title, fn, needed = _PAGES[kind]
    params = dict(request.query_params)
    result: dict[str, Any] | None = None
    error: InputError | None = None
    if any(str(params.get(k) or "").strip() for k in needed):
        try:
            result = fn(params)
        except InputError as exc:
            error = exc
    ctx = {"kind": kind, "title": title, "values": params, "result": result, "error": error,
           "error_field": error.field if error else None}
    partial = is_partial(request.headers, "calc-result")
    template = "_calc_result.html" if partial else f"calc_{kind}.html"
    return render(request, template, ctx, status_code=422 if error and not partial else 200)


@router.get("/calc")
@requires(Permission.PUBLIC)
def calc_index(request: Request) -> Response:
    """The calculators (public: they hold no patient data)."""
    return render(request, "calc_index.html", {})


@router.get("/calc/tia")
@requires(Permission.PUBLIC)
def calc_tia(request: Request) -> Response:
    """Time-integrated activity from serial measurements."""
    return _page(request, "tia")


@router.get("/calc/lesion")
@requires(Permission.PUBLIC)
def calc_lesion(request: Request) -> Response:
    """Lesion absorbed dose per activity and the activity for a target dose."""
    return _page(request, "lesion")


@router.get("/calc/blood")
@requires(Permission.PUBLIC)
def calc_blood(request: Request) -> Response:
    """Blood absorbed dose per activity and the maximum tolerable activity."""
    return _page(request, "blood")


# --------------------------------------------------------------------------------------------------
# API
# --------------------------------------------------------------------------------------------------

def _desc(label: str, name: str) -> str:
    r = CALC_FIELDS[name]
    return f"{label}, {r.unit}; plausible range {r.low:g} to {r.high:.6g} (checked as on the pages)"



@api_router.get("/tia", summary="Time-integrated activity (fit + Monte Carlo CI)")
@requires(Permission.PUBLIC)
def api_tia(
    times_h: Annotated[str, Query(max_length=2000, description="Comma-separated times after intake, h")],
    values: Annotated[str, Query(max_length=2000, description="Comma-separated fractions of activity")],
    model: Annotated[str, Query(max_length=16, description="auto, mono, bi, uptake, trapezoid")] = "auto",
    unit: Annotated[str, Query(pattern="^(fraction|MBq)$", description="fraction or MBq")] = "fraction",
    decay_corrected: Annotated[bool, Query(description="Values are decay-corrected")] = False,
    samples: Annotated[int, Query(ge=0, le=_MAX_SAMPLES, description="Monte Carlo samples (0: none)")] = 1000,
) -> dict[str, Any]:
    """Same keys as ``redif dose tia --json`` plus ``constants`` and ``disclaimer``."""
    return to_jsonable(  # type: ignore[no-any-return]
        tia({"times_h": times_h, "values": values, "model": model, "unit": unit,
                "decay_corrected": "true" if decay_corrected else "", "samples": samples}))


@api_router.get("/lesion", summary="Lesion dose per activity (sphere model)")
@requires(Permission.PUBLIC)
def api_lesion(
    mass_g: Annotated[float, Query(description=_desc("Lesion mass", "mass_g"))],
    tia_h: Annotated[float, Query(description=_desc("Lesion TIA coefficient of 131I", "tia_h"))],
    target_gy: Annotated[float | None, Query(description=_desc("Target lesion dose", "target_gy"))] = None,
) -> dict[str, Any]:
    """Same keys as ``redif dose lesion --json``."""
    return to_jsonable(  # type: ignore[no-any-return]
        lesion({"mass_g": mass_g, "tia_h": tia_h, "target_gy": target_gy}))


@api_router.get("/blood", summary="Blood dose per activity and maximum tolerable activity")
@requires(Permission.PUBLIC)
def api_blood(
    weight_kg: Annotated[float, Query(description=_desc("Patient weight", "weight_kg"))],
    wb_tia_h: Annotated[float, Query(description=_desc("Whole-body 131I residence time", "wb_tia_h"))],
    blood_tia_h_per_ml: Annotated[float, Query(description=_desc("Blood TIA per mL", "blood_tia_h_per_ml"))],
    limit_gy: Annotated[float | None, Query(description=_desc("Blood dose limit", "limit_gy"))] = None,
) -> dict[str, Any]:
    """Same keys as ``redif dose blood --json``."""
    return to_jsonable(  # type: ignore[no-any-return]
        blood({"weight_kg": weight_kg, "wb_tia_h": wb_tia_h, "blood_tia_h_per_ml": blood_tia_h_per_ml,
               "limit_gy": limit_gy}))

