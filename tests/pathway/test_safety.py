"""Issue 11: the safety layer of the pathway assessment (``redif.pathway.safety``).

Expected values come from the rules of ``src/redif/data/safety_rules.yaml`` (each with its source: the
Thyroid 1999 abstract on radioiodine and pregnancy, the urinary-iodine abstracts, the drug labels as
transcribed, Benua 1962 as restated in PMC5724631) applied by hand to the hand-written cases below; the
retention limits are read from ``dosimetry_thresholds.yaml`` in the test, never typed.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from redif.data import Grade, data_path, load_yaml
from redif.model import LesionPattern, SafetySeverity
from redif.pathway.assess import assess_case
from redif.pathway.case import CaseValidationError, load_case, parse_case
from redif.pathway.protocol import get_protocol, schedule
from redif.pathway.registry_section import registry_report_section
from redif.pathway.safety import assess_safety, has_contraindication, retention_limits, safety_rules

Run = Callable[..., subprocess.CompletedProcess[str]]
MakeCase = Callable[..., dict[str, Any]]

#: MERAIODE from 2024-03-04: 131I on day 35 = 2024-04-08 (docs/methods/protocols.md; protocols/meraiode.yaml).
_START = dt.date(2024, 3, 4)
_RAI = dt.date(2024, 4, 8)


def _ids(findings: Any) -> dict[str, Any]:
    return {f.id: f for f in findings}


def _plan() -> Any:
    return schedule(get_protocol("meraiode"), _START)


def _thresholds() -> dict[str, Any]:
    with data_path("dosimetry_thresholds.yaml").open(encoding="utf-8") as fh:
        data: dict[str, Any] = yaml.safe_load(fh)
    return data


# --- schema ------------------------------------------------------------------------------------------


def test_schema_accepts_the_safety_block(make_case: MakeCase) -> None:
    """Issue 11 ("Why": the schema rejects such fields): pregnancy, breastfeeding, LVEF, QTc, ophthalmology,
    medications, contrast and low-iodine diet are recorded in a `safety` block; a lesion has a `pattern`.
    Seen failing on main: 'safety: unknown field'."""
    case = parse_case(make_case(
        lesions=[{"id": "L1", "site": "both lungs", "organ": "lung", "pattern": "micronodular"}],
        safety={"pregnant": False, "breastfeeding": False, "lvef_percent": 58, "ecg_qtc_ms": 430,
                "ophthalmology_exam_date": "2024-05-01", "medications": ["levothyroxine"],
                "iodinated_contrast_date": "2024-01-02", "low_iodine_diet_start": "2024-05-20"},
    ))
    assert case.safety is not None and case.safety.lvef_percent == pytest.approx(58.0)
    assert case.lesions[0].pattern is LesionPattern.DIFFUSE  # 'micronodular' is an alias of diffuse


@pytest.mark.parametrize(
    ("block", "path"),
    [
        ({"lvef_percent": 120}, "safety.lvef_percent"),
        ({"pregnant": "perhaps"}, "safety.pregnant"),
        ({"smoker": True}, "safety.smoker"),
    ],
)
def test_safety_block_problems_name_the_field(make_case: MakeCase, block: dict[str, Any], path: str) -> None:
    """Issue 11: a bad safety value is refused with its field path (LVEF is a percentage, 0-100)."""
    with pytest.raises(CaseValidationError) as err:
        parse_case(make_case(safety=block))
    assert any(p.startswith(path) for p in err.value.problems), err.value.problems


def test_bad_pattern_lists_the_codes(make_case: MakeCase) -> None:
    """Issue 11: an unknown lesion pattern names the field and the allowed codes."""
    with pytest.raises(CaseValidationError) as err:
        parse_case(make_case(lesions=[{"id": "L1", "site": "x", "organ": "lung", "pattern": "cloudy"}]))
    (line,) = err.value.problems
    assert line.startswith("lesions[0].pattern") and "diffuse" in line


# --- pregnancy and breastfeeding ---------------------------------------------------------------------


@pytest.mark.parametrize("key", ["pregnant", "breastfeeding"])
def test_pregnancy_and_breastfeeding_are_contraindications(make_case: MakeCase, key: str) -> None:
    """Issue 11: pregnancy and breastfeeding are contraindications to 131I (safety_rules.yaml, Thyroid
    1999;9(7):721-726 and the transcribed textbook chapter, grade secondary)."""
    case = parse_case(make_case(safety={key: True}))
    findings = assess_safety(case, plan=_plan())
    rule = {"pregnant": "pregnancy", "breastfeeding": "breastfeeding"}[key]
    f = _ids(findings)[rule]
    assert f.severity is SafetySeverity.CONTRAINDICATION
    assert f.to_dict()["severity"] == "contraindication"
    assert findings[0].id == rule  # contraindications come first
    assert has_contraindication(findings)


def test_not_pregnant_no_contraindication(make_case: MakeCase) -> None:
    """Issue 11: `pregnant: false` gives no contraindication and no 'not recorded' note."""
    findings = assess_safety(parse_case(make_case(safety={"pregnant": False, "breastfeeding": False})))
    assert not has_contraindication(findings)
    assert "pregnancy_not_recorded" not in _ids(findings)
    assert "pregnancy_not_recorded" in _ids(assess_safety(parse_case(make_case())))


# --- lung metastases: the 48-h retention limit ---------------------------------------------------------


def test_retention_limits_are_the_dosimetry_values() -> None:
    """Issue 11: the safety layer reuses the dosimetry engine's 48-h retention limits (read here from
    dosimetry_thresholds.yaml; Benua 1962 as restated in PMC5724631), never a second copy."""
    table = _thresholds()
    default, diffuse = retention_limits()
    assert default.value == table["wholebody_retention_48h_limit"]["value"]
    assert diffuse.value == table["wholebody_retention_48h_limit_lung_metastases"]["value"]
    text = data_path("safety_rules.yaml").read_text(encoding="utf-8")
    for key in ("wholebody_retention_48h_limit", "wholebody_retention_48h_limit_lung_metastases"):
        assert str(table[key]["value"]) not in text  # the number is not copied into the rules file


def test_diffuse_lung_gives_the_lower_limit(make_case: MakeCase) -> None:
    """Issue 11 ("Why": diffuse lung micronodules get a fixed 5.5 GBq schedule with no word on the 48-h
    retention limit): a diffuse pattern -> a warning naming the lower limit. Seen failing on main (no
    safety list)."""
    case = parse_case(make_case(lesions=[{"id": "LD", "site": "both lungs", "organ": "lung",
                                          "pattern": "diffuse"}]))
    f = _ids(assess_safety(case, plan=_plan()))["lung_retention_limit_diffuse"]
    lower = _thresholds()["wholebody_retention_48h_limit_lung_metastases"]["value"]
    assert f.severity is SafetySeverity.WARNING
    assert f"below {lower:g} GBq" in f.text and "LD" in f.text
    assert f.grade is Grade.SECONDARY


def test_lung_without_pattern_asks_for_it(make_case: MakeCase) -> None:
    """Issue 11: a lung lesion without a pattern -> warning naming both limits; non-diffuse -> info."""
    ids = _ids(assess_safety(parse_case(make_case())))
    assert ids["lung_pattern_not_recorded"].severity is SafetySeverity.WARNING
    case = parse_case(make_case(lesions=[{"id": "L1", "site": "x", "organ": "lung", "pattern": "nodular"}]))
    ids = _ids(assess_safety(case))
    assert ids["lung_retention_limit"].severity is SafetySeverity.INFO
    assert "lung_pattern_not_recorded" not in ids


def test_dosimetry_plan_flag_cross_check(make_case: MakeCase) -> None:
    """Issue 11: a dosimetry plan with lung_metastases: false while the case has a diffuse (or
    unpatterned) lung lesion is flagged; a plan with true and no diffuse lesion gets an info."""
    plan = {"weight_kg": 70, "whole_body": {"tia_h": 20.0}, "blood": {"tia_h_per_ml": 0.002},
            "lesions": [{"name": "L1", "volume_ml": 1.5, "tia_h": 0.05}]}
    diffuse = [{"id": "L1", "site": "both lungs", "organ": "lung", "pattern": "diffuse"}]
    ids = _ids(assess_safety(parse_case(make_case(lesions=diffuse, dosimetry={"plan": plan}))))
    assert ids["dosimetry_plan_lung_flag"].severity is SafetySeverity.WARNING
    nodular = [{"id": "L1", "site": "x", "organ": "lung", "pattern": "macronodular"}]
    ids = _ids(assess_safety(parse_case(make_case(lesions=nodular, dosimetry={"plan": plan}))))
    assert "dosimetry_plan_lung_flag" not in ids
    flagged = {**plan, "lung_metastases": True}
    ids = _ids(assess_safety(parse_case(make_case(lesions=nodular, dosimetry={"plan": flagged}))))
    assert ids["dosimetry_plan_lung_flag_without_lesion"].severity is SafetySeverity.INFO


def test_dosimetry_example_is_flagged(examples_dir: Any) -> None:
    """Issue 11 ("Why": the dosimetry example has a lung lesion while its plan says lung_metastases:
    false, unflagged): the flag fires on examples/case_braf_dosimetry.yaml. Seen failing on main."""
    a = assess_case(load_case(examples_dir / "case_braf_dosimetry.yaml"))
    f = _ids(a.safety)["dosimetry_plan_lung_flag"]
    assert "L1" in f.text and f.severity is SafetySeverity.WARNING


# --- iodine load -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("contrast", "fires"),
    [(_RAI - dt.timedelta(days=30), True), (_RAI - dt.timedelta(days=59), True),
     (_RAI - dt.timedelta(days=60), False), (_RAI + dt.timedelta(days=3), False)],
)
def test_iodinated_contrast_interval(make_case: MakeCase, contrast: dt.date, fires: bool) -> None:
    """Issue 11: contrast less than 60 days (2 months, the abstract's practice; the value is read from
    safety_rules.yaml) before the 131I date of the plan -> warning; 60 days or more -> none."""
    rule = next(r for r in safety_rules() if r.id == "iodinated_contrast")
    assert rule.params["min_days_before_131i"] == 60
    case = parse_case(make_case(safety={"iodinated_contrast_date": contrast.isoformat()}))
    ids = _ids(assess_safety(case, plan=_plan()))
    assert ("iodinated_contrast" in ids) is fires
    if fires:
        assert str(_RAI) in ids["iodinated_contrast"].text


def test_contrast_without_131i_date(make_case: MakeCase) -> None:
    """Issue 11: without a dated plan, contrast gives an info with the interval to keep."""
    case = parse_case(make_case(safety={"iodinated_contrast_date": "2024-01-10"}))
    assert "iodinated_contrast_no_131i_date" in _ids(assess_safety(case))


@pytest.mark.parametrize(("days", "fires"), [(3, True), (6, True), (7, False), (14, False), (-2, True)])
def test_low_iodine_diet(make_case: MakeCase, days: int, fires: bool) -> None:
    """Issue 11: a low-iodine diet started fewer than 7 days before the 131I date (or after it) -> warning
    (PMID 21707689: one week of a strict diet is enough)."""
    start = _RAI - dt.timedelta(days=days)
    case = parse_case(make_case(safety={"low_iodine_diet_start": start.isoformat()}))
    ids = _ids(assess_safety(case, plan=_plan()))
    assert ("low_iodine_diet_short" in ids) is fires
    assert "low_iodine_diet_not_recorded" not in ids


# --- drug labels -------------------------------------------------------------------------------------


def test_baseline_checks_for_dabrafenib_trametinib(make_case: MakeCase) -> None:
    """Issue 11: dabrafenib + trametinib without a baseline LVEF -> both label warnings; with an LVEF and
    an ophthalmology exam before the drug start, those go."""
    ids = _ids(assess_safety(parse_case(make_case()), drugs=["dabrafenib", "trametinib"]))
    assert {"dabrafenib_lvef_baseline", "trametinib_lvef_baseline", "trametinib_ophthalmology"} <= set(ids)
    case = parse_case(make_case(
        redifferentiation_course={"drugs": [{"drug": "dabrafenib"}], "start_date": "2024-03-04"},
        safety={"lvef_percent": 60, "ophthalmology_exam_date": "2024-03-01"},
    ))
    ids = _ids(assess_safety(case, drugs=["Dabrafenib", "trametinib"]))
    assert not {"dabrafenib_lvef_baseline", "trametinib_lvef_baseline", "trametinib_ophthalmology"} & set(ids)


def test_ophthalmology_after_drug_start_does_not_count(make_case: MakeCase) -> None:
    """Issue 11: an ophthalmology exam after the drug start is no baseline (selumetinib SmPC)."""
    case = parse_case(make_case(
        redifferentiation_course={"drugs": [{"drug": "selumetinib"}], "start_date": "2024-03-04"},
        safety={"lvef_percent": 60, "ophthalmology_exam_date": "2024-03-20"},
    ))
    assert "selumetinib_ophthalmology" in _ids(assess_safety(case, drugs=["selumetinib"]))


def test_selumetinib_lvef_below_institutional_lln(make_case: MakeCase) -> None:
    """Issue 11: selumetinib with LVEF below the institutional LLN given in the case -> warning (no LLN
    number is typed in redif: the SmPC says 'institutional LLN')."""
    case = parse_case(make_case(safety={"lvef_percent": 45, "lvef_lln_percent": 50}))
    f = _ids(assess_safety(case, drugs=["selumetinib"]))["selumetinib_lvef_below_lln"]
    assert "45" in f.text and "50" in f.text
    ok = parse_case(make_case(safety={"lvef_percent": 55, "lvef_lln_percent": 50}))
    assert "selumetinib_lvef_below_lln" not in _ids(assess_safety(ok, drugs=["selumetinib"]))


@pytest.mark.parametrize(("qtc", "fires"), [(520, True), (501, True), (500, False), (440, False)])
def test_vemurafenib_qtc(make_case: MakeCase, qtc: float, fires: bool) -> None:
    """Issue 11: vemurafenib with baseline QTc > 500 ms: treatment not recommended (Zelboraf SmPC 4.2
    Table 2, transcribed) -> contraindication; no QTc -> ECG warning."""
    case = parse_case(make_case(safety={"ecg_qtc_ms": qtc}))
    ids = _ids(assess_safety(case, drugs=["vemurafenib"]))
    assert ("vemurafenib_qtc" in ids) is fires
    if fires:
        assert ids["vemurafenib_qtc"].severity is SafetySeverity.CONTRAINDICATION
    assert "vemurafenib_ecg_baseline" in _ids(assess_safety(parse_case(make_case()), drugs=["vemurafenib"]))


def test_dabrafenib_interactions(make_case: MakeCase) -> None:
    """Issue 11: dabrafenib with a strong CYP3A4 inducer (rifampicin) and with dexamethasone (a CYP3A4
    substrate it lowers) -> the two interaction warnings, naming the medications; unrelated ones do not
    match, and names match as whole words only."""
    case = parse_case(make_case(safety={"medications": ["Rifampicin 600 mg", "dexamethasone", "levothyroxine",
                                                        "carbamazepine-like placebo"]}))
    ids = _ids(assess_safety(case, drugs=["dabrafenib"]))
    assert "Rifampicin 600 mg" in ids["dabrafenib_cyp_inhibitors_inducers"].text
    assert "dexamethasone" in ids["dabrafenib_cyp3a4_substrates"].text
    assert "levothyroxine" not in ids["dabrafenib_cyp_inhibitors_inducers"].text
    none = parse_case(make_case(safety={"medications": ["levothyroxine"]}))
    assert "dabrafenib_cyp_inhibitors_inducers" not in _ids(assess_safety(none, drugs=["dabrafenib"]))
    assert "dabrafenib_cyp_inhibitors_inducers" not in _ids(assess_safety(case, drugs=["trametinib"]))


# --- steroid cover -----------------------------------------------------------------------------------


def test_spine_metastasis_with_tsh_stimulation_needs_steroid_cover(make_case: MakeCase) -> None:
    """Issue 11: a vertebral metastasis with rhTSH in the plan -> steroid-cover warning (graded unverified:
    no source found); with cover recorded -> info; without any TSH stimulation -> nothing."""
    lesions = [{"id": "B1", "site": "T8 vertebra", "organ": "bone"}]
    f = _ids(assess_safety(parse_case(make_case(lesions=lesions)), plan=_plan()))["steroid_cover"]
    assert f.severity is SafetySeverity.WARNING and f.grade is Grade.UNVERIFIED
    covered = parse_case(make_case(lesions=lesions, safety={"corticosteroid_cover": True}))
    assert "steroid_cover_recorded" in _ids(assess_safety(covered, plan=_plan()))
    assert not {"steroid_cover", "steroid_cover_recorded"} & set(_ids(assess_safety(parse_case(
        make_case(lesions=lesions)))))
    brain = [{"id": "C1", "site": "left frontal", "organ": "brain"}]
    assert "steroid_cover" in _ids(assess_safety(parse_case(make_case(lesions=brain)), plan=_plan()))


# --- the data file -----------------------------------------------------------------------------------


def test_every_rule_has_source_grade_and_severity() -> None:
    """Issue 11: every rule of safety_rules.yaml carries a source, a grade and a severity of the model's
    vocabulary (data/README.md convention)."""
    data = load_yaml("safety_rules.yaml")
    entries = [*data["rules"], *data["drug_rules"]]
    assert len(entries) == len(safety_rules())
    for e in entries:
        assert str(e["source"]).strip(), e["id"]
        assert e["grade"] in {g.value for g in Grade}, e["id"]
        assert e["severity"] in {s.value for s in SafetySeverity}, e["id"]


# --- the assessment, JSON, report --------------------------------------------------------------------


def test_json_keys(redif: Run) -> None:
    """Issue 11: `redif patient assess --json` has `safety`: a list of {id, severity, text, source, grade};
    the pregnant example has the contraindication."""
    out = redif("patient", "assess", "examples/case_pregnant.yaml", "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert isinstance(doc["safety"], list) and doc["safety"]
    for f in doc["safety"]:
        assert set(f) == {"id", "severity", "text", "source", "grade"}
    assert doc["safety"][0] == {**doc["safety"][0], "id": "pregnancy", "severity": "contraindication"}


def test_diffuse_lung_example(redif: Run) -> None:
    """Issue 11: examples/case_diffuse_lung.yaml (diffuse micronodules, MERAIODE) gets the retention-limit
    warning with the lower limit of dosimetry_thresholds.yaml, and no baseline check is missing."""
    doc = json.loads(redif("patient", "assess", "examples/case_diffuse_lung.yaml", "--json").stdout)
    ids = {f["id"]: f for f in doc["safety"]}
    lower = _thresholds()["wholebody_retention_48h_limit_lung_metastases"]["value"]
    assert ids["lung_retention_limit_diffuse"]["severity"] == "warning"
    assert f"below {lower:g} GBq" in ids["lung_retention_limit_diffuse"]["text"]
    assert not any(k.endswith(("_baseline", "_not_recorded")) for k in ids)


def test_text_report_has_the_safety_section(redif: Run, tmp_path: Path) -> None:
    """Issue 11: the text report (terminal and Markdown) shows a Safety section with severity, text,
    source and grade."""
    out = redif("patient", "assess", "examples/case_pregnant.yaml", "--markdown", str(tmp_path / "r.md"))
    assert out.returncode == 0, out.stderr
    assert "Safety: 1 contraindication" in out.stdout and "pregnancy" in out.stdout
    md = (tmp_path / "r.md").read_text(encoding="utf-8")
    assert "## Safety: 1 contraindication" in md
    assert "| severity | finding | source | grade |" in md
    assert "| contraindication | pregnancy: Pregnancy is a contraindication" in md


# --- the PDF's pathway section -----------------------------------------------------------------------


def _registry_patient(**extra: Any) -> dict[str, Any]:
    return {
        "pseudonym": "P-1",
        "rai_refractory_criterion": None,
        "progression_date": None,
        "records": {
            "genotypes": [{"gene": "BRAF", "variant": "V600E", "fusion_partner": None}],
            "courses": [{"id": 1, "course_number": 1, "drugs": "dabrafenib + trametinib"}],
        },
        **extra,
    }


def test_pdf_section_from_the_stored_case_document(examples_dir: Any) -> None:
    """Issue 11: the PDF's pathway section lists the safety findings of the stored case document (the
    pregnant example -> the contraindication with its source and grade)."""
    doc = yaml.safe_load((examples_dir / "case_pregnant.yaml").read_text(encoding="utf-8"))
    sec = registry_report_section(_registry_patient(case_document=doc))
    assert sec is not None
    assert any(line.startswith("Safety contraindication: Pregnancy is a contraindication") and
               "grade secondary" in line for line in sec["lines"])
    assert any("Thyroid 1999" in s for s in sec["sources"])


def test_pdf_section_from_registry_drugs() -> None:
    """Issue 11: without a case document, the PDF lists the label checks of the registry course's drugs
    (dabrafenib + trametinib: baseline LVEF not recorded) and says what the registry cannot hold."""
    sec = registry_report_section(_registry_patient())
    assert sec is not None
    text = "\n".join(sec["lines"])
    assert "Dabrafenib: baseline LVEF not recorded" in text and "Trametinib: baseline LVEF" in text
    assert "need a case document with a safety block" in text
