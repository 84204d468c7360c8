"""Assessment report: one document model, rendered as Markdown or as rich terminal output.

:func:`report_blocks` turns the JSON form of an :class:`~redif.pathway.assess.Assessment` into a list of
blocks (headings, paragraphs, bullet lists, tables); :func:`to_markdown` and :func:`to_rich` render the
same blocks, so the terminal, the Markdown file and the JSON never disagree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rich.panel import Panel
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

__all__ = ["Block", "report_blocks", "to_markdown", "to_rich"]


@dataclass(frozen=True)
class Block:
    """One block of the report."""

    kind: str  # "h1", "h2", "p", "quote", "bullets", "table"
    text: str = ""
    items: tuple[str, ...] = ()
    header: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = field(default_factory=tuple)
    style: str | None = None  # status colour for the terminal


_STATUS_STYLE = {
    "refractory": "bold red",
    "not refractory": "bold green",
    "indeterminate": "bold yellow",
    "candidate": "bold green",
    "not_candidate": "bold red",
    "go": "bold green",
    "no-go": "bold red",
    "insufficient data": "bold yellow",
}


def _s(x: Any) -> str:
    if x is None:
        return "—"
    if isinstance(x, float):
        return f"{x:g}"
    return str(x)


def _pct(x: Any) -> str:
    return "—" if x is None else f"{100 * float(x):.0f}%"


def _evidence_summary(ev: dict[str, Any]) -> str:
    parts = []
    for key, label in (("uptake", "uptake restored"), ("response", "response (CR+PR)")):
        pooled = ev.get(key)
        if isinstance(pooled, list):
            for p in pooled:
                what = f"{label}" + (f" [{p['definition']}]" if p.get("definition") else "")
                parts.append(
                    f"{what}: {p['events']}/{p['n_total']}, {_pct(p['estimate'])} "
                    f"(95% CI {_pct(p['ci_lower'])}–{_pct(p['ci_upper'])}; "
                    f"k={p['k']}, {p['measure']} {p['method']})"
                )
        elif isinstance(pooled, str):
            parts.append(f"{label}: {pooled}")
    arms = ev.get("arms")
    if isinstance(arms, list) and arms:
        parts.append("arms: " + ", ".join(f"{a['row_id']} ({a['grade']})" for a in arms))
    if ev.get("status"):
        parts.append(str(ev["status"]))
    return "; ".join(parts) or "—"


def report_blocks(doc: dict[str, Any]) -> list[Block]:
    """Blocks of the assessment report from the JSON document of an assessment."""
    b: list[Block] = []
    synth = " (SYNTHETIC case)" if doc.get("synthetic") else ""
    b.append(Block("h1", f"redif assessment — {doc['case_id']}{synth}"))
    b.append(Block("quote", doc["disclaimer"]))
    if doc.get("description"):
        b.append(Block("p", doc["description"]))
    b.append(Block("p", f"As of {_s(doc.get('as_of'))}."))

    if doc.get("lesions"):
        b.append(Block("h2", "Lesions"))
        b.append(
            Block(
                "table",
                header=("lesion", "organ / site", "size", "imaging", "radioiodine uptake on each scan"),
                rows=tuple(
                    (
                        les["id"] + (" (node)" if les["lymph_node"] else ""),
                        f"{les['organ']} / {les['site']}",
                        "—" if les["size_mm"] is None else f"{les['size_mm']:g} mm",
                        ", ".join(les["detected_by"]) or "—",
                        "; ".join(f"{a['date']} {a['scan']}: {a['uptake']}" for a in les["avidity"]) or "—",
                    )
                    for les in doc["lesions"]
                ),
            )
        )

    r = doc["refractory"]
    b.append(Block("h2", f"RAI-refractoriness: {r['status']}", style=_STATUS_STYLE.get(r["status"])))
    b.append(
        Block(
            "p",
            r["reason"]
            + (
                f" — rule: {r['rule']['text']} ({r['rule']['source']}; grade {r['rule']['grade']})"
                if r.get("rule")
                else ""
            ),
        )
    )
    if r["criteria_met"]:
        b.append(
            Block(
                "table",
                header=("criterion met", "evidence from the case", "source", "grade"),
                rows=tuple(
                    (f"{m['id']}: {m['text']}", "; ".join(m["evidence"]), m["source"], m["grade"])
                    for m in r["criteria_met"]
                ),
            )
        )
    b.append(Block("p", "Frameworks: " + ", ".join(f"{k}: {v}" for k, v in r["frameworks"].items())))
    if r["missing_data"]:
        b.append(Block("p", "Data that would decide it:"))
        b.append(Block("bullets", items=tuple(r["missing_data"])))
    b.append(Block("p", "Not criteria on their own:"))
    b.append(
        Block(
            "bullets",
            items=tuple(
                f"{n['text']} ({n['source']}; grade {n['grade']}) — {n['detail']}"
                + (" — present here and NOT used as a reason" if n["applies"] else "")
                for n in r["non_criteria"]
            ),
        )
    )

    e = doc["eligibility"]
    b.append(Block("h2", f"Eligibility: {e['status']}", style=_STATUS_STYLE.get(e["status"])))
    b.append(Block("p", e["reason"]))
    if e.get("missing_data"):
        b.append(Block("p", "Data that would decide it:"))
        b.append(Block("bullets", items=tuple(e["missing_data"])))
    if e["genotype"]:
        b.append(
            Block(
                "p",
                "Genotype: "
                + "; ".join(
                    f"{g['alteration']} → {g['group']}, evidence: {g.get('evidence_level') or '—'}, "
                    f"Rec 74A: {_REC74A.get(g.get('rec74a'), 'not stated')} "
                    f"({g['source']}; grade {g['grade']})"
                    for g in e["genotype"]
                ),
            )
        )
    if e.get("notes"):
        b.append(Block("bullets", items=tuple(e["notes"])))
    b.append(
        Block(
            "table",
            header=("check", "status", "detail", "source", "grade"),
            rows=tuple(
                (f"{c['kind']} {c['id']}: {c['text']}", c["status"], c["detail"], c["source"], c["grade"])
                for c in e["checks"]
            ),
        )
    )
    b.append(Block("p", "Trial criteria are reported as such, never as hard rules."))
    if e.get("trial_context"):
        b.append(Block("p", "Trial context: " + e["trial_context"]))

    b.extend(_safety_blocks(doc.get("safety")))

    b.append(Block("h2", f"Candidate regimens ({len(doc['regimens'])})"))
    if doc["regimens"]:
        b.append(
            Block(
                "table",
                header=("drug", "dose", "duration", "evidence level", "evidence", "source", "grade"),
                rows=tuple(
                    (
                        g["drug"] + (" (the case's course)" if g.get("matches_course") else ""),
                        _s(g["dose"]) if g["dose"] else "not stated in the sources read",
                        _s(g["duration_text"] or g["duration_days"]),
                        g["evidence_level"],
                        _evidence_summary(g["evidence"]),
                        g["source"],
                        g["grade"],
                    )
                    for g in doc["regimens"]
                ),
            )
        )
    else:
        b.append(Block("p", "No regimen: no targetable alteration matched the regimen table."))

    b.extend(_protocol_blocks(doc))
    if doc.get("notes"):
        b.append(Block("h2", "Notes and warnings"))
        b.append(Block("bullets", items=tuple(doc["notes"])))

    d = doc.get("decision")
    if d:
        b.append(Block("h2", f"Go / no-go: {d['status']}", style=_STATUS_STYLE.get(d["status"])))
        b.append(
            Block(
                "p", f"Rule: {d['rule']} — {d['source']}" + (f" (grade {d['grade']})" if d["grade"] else "")
            )
        )
        b.append(Block("p", d["reason"]))
        if d.get("policy"):
            b.append(Block("p", f"Protocol policy: {d['policy']}"))
        b.append(
            Block(
                "table",
                header=("rule", "outcome", "evidence", "source", "grade"),
                rows=tuple(
                    (
                        f"{o['id']}: {o['text']}",
                        o["outcome"],
                        "; ".join(o["evidence"]),
                        o["source"],
                        o["grade"],
                    )
                    for o in d["rules"]
                ),
            )
        )
    dos = doc.get("dosimetry")
    if dos:
        b.append(Block("h2", "Dosimetry"))
        b.append(Block("bullets", items=tuple(_dosimetry_lines(dos))))
    resp = doc.get("response")
    if resp:
        b.append(Block("h2", "Response"))
        b.append(Block("bullets", items=tuple(_response_lines(resp))))
    b.extend(_ata_blocks(doc))
    b.append(Block("quote", doc["disclaimer"]))
    return b


def _ata_blocks(doc: dict[str, Any]) -> list[Block]:
    """The "ATA response to therapy" section (ATA 2015 Table 13 categories per follow-up time point)."""
    if "ata_response" not in doc:
        return []
    points = doc["ata_response"]
    out = [Block("h2", "ATA response to therapy")]
    sc = doc.get("ata_response_scope")
    if sc:
        out.append(Block("p", f"Caveat: {sc['text']} ({sc['source']}; grade {sc['grade']})"))
    if not points:
        out.append(
            Block("p", "No follow-up time point: no Tg, TgAb or imaging dated after a recorded 131I course.")
        )
        return out
    out.append(
        Block(
            "table",
            header=("date", "category", "rule", "detail", "source", "grade"),
            rows=tuple(
                (p["date"], p["label"], f"{p['rule']}: {p['text']}", p["detail"], p["source"], p["grade"])
                for p in points
            ),
        )
    )
    return out


def _safety_blocks(findings: Any) -> list[Block]:
    """The "Safety" section: one row per finding (severity, finding, source, grade)."""
    if not isinstance(findings, list):
        return []
    n = sum(1 for f in findings if f["severity"] == "contraindication")
    title = f"Safety: {n} contraindication{'s' if n != 1 else ''}" if n else "Safety"
    out = [Block("h2", title, style="bold red" if n else None)]
    if not findings:
        out.append(Block("p", "No safety finding."))
        return out
    out.append(
        Block(
            "table",
            header=("severity", "finding", "source", "grade"),
            rows=tuple((f["severity"], f"{f['id']}: {f['text']}", f["source"], f["grade"]) for f in findings),
        )
    )
    return out


_REC74A = {True: "covered", False: "not covered"}
_HYPO = "HYPOTHETICAL"


def _protocol_blocks(doc: dict[str, Any]) -> list[Block]:
    """The protocol section: the dated plan only where ``plan.allowed`` (or labelled HYPOTHETICAL)."""
    b: list[Block] = []
    info = doc.get("protocol_info")
    plan = doc.get("plan") or {"allowed": True, "hypothetical": False, "what_would_have_to_change": []}
    hypo = bool(plan.get("hypothetical"))
    tag = f"{_HYPO} — " if hypo else ""
    if info and info.get("name") and doc["protocol"]:
        b.append(Block("h2", f"{tag}Protocol: {info['name']}", style="bold yellow" if hypo else None))
        if hypo:
            b.append(
                Block(
                    "p", f"{_HYPO}: no indication for this plan; shown only because --hypothetical was given."
                )
            )
        b.append(
            Block(
                "p",
                f"{tag}{info['title']} ({info['source']}; grade {info['grade']}). Chosen by: "
                f"{info['chosen_by']}. Drug: {_s(info.get('drug'))}. Start date: {_s(info['start_date'])}.",
            )
        )
        b.append(
            Block(
                "table",
                header=("day", "date", "event", "source", "grade"),
                rows=tuple(
                    (
                        f"{_HYPO} {p['day']}" if hypo else str(p["day"]),
                        _s(p["date"]),
                        f"{_HYPO}: {p['event']}" if hypo else p["event"],
                        p["source"],
                        p["grade"],
                    )
                    for p in doc["protocol"]
                ),
            )
        )
        items = list(info["notes"])
        if info.get("decision_policy"):
            items.insert(0, f"Decision policy: {info['decision_policy']}")
        items += [f"what would have to change: {c}" for c in plan.get("what_would_have_to_change", [])]
        if items:
            b.append(Block("bullets", items=tuple(f"{tag}{i}" for i in items)))
        return b
    b.append(Block("h2", "Protocol: none"))
    changes = plan.get("what_would_have_to_change") or []
    if changes:
        b.append(Block("p", "No dated plan: there is no indication. What would have to change:"))
        b.append(Block("bullets", items=tuple(changes)))
    elif info:
        b.append(Block("p", str(info.get("chosen_by", ""))))
    else:
        b.append(Block("p", str(plan.get("chosen_by") or "no candidate regimen")))
    return b


def _dosimetry_lines(dos: dict[str, Any]) -> list[str]:
    lines = []
    res = dos.get("results")
    if isinstance(res, dict):
        lines.append(
            f"Maximum tolerable activity {res['max_tolerable_activity_gbq']:g} GBq"
            + (f" ({res['mta_constraint']})" if res.get("mta_constraint") else "")
            + f" — {dos.get('results_source', '')}"
        )
        for ld in res["lesions"]:
            lines.append(f"{ld['lesion_id']}: {ld['dose_per_activity_gy_per_gbq']:g} Gy/GBq")
    plan = dos.get("plan")
    if isinstance(plan, str):
        lines.append(f"Plan: {plan}")
    elif isinstance(plan, dict):
        act = plan.get("recommended_activity_gbq")
        lines.append(
            f"Recommended activity: {_s(None if act is None else round(act, 2))} GBq; binding constraint: "
            f"{_s(plan.get('binding_constraint'))} ({plan.get('reason', '')}) — {plan.get('engine', '')}"
        )
        for c in plan.get("constraints", []):
            a = c.get("activity_gbq")
            lines.append(
                f"{c['kind']} {c['name']}: {_s(None if a is None else round(a, 2))} GBq"
                + (" [binding]" if c.get("binding") else "")
                + f" — {c['rule']} ({c['source']}; grade {c['grade']})"
            )
        for o in plan.get("options", []):
            doses = ", ".join(f"{d['lesion_id']} {d['dose_gy']:.1f} Gy" for d in o.get("lesion_doses", []))
            lines.append(f"option {o['name']} {o['activity_gbq']:.2f} GBq: {doses} ({o['rule']})")
        lines.extend(f"warning: {w}" for w in plan.get("warnings", []))
    return lines


def _response_lines(resp: dict[str, Any]) -> list[str]:
    lines = []
    if isinstance(resp.get("status"), str):
        lines.append(resp["status"])
    for tp in resp.get("time_points", []) if isinstance(resp.get("time_points"), list) else []:
        lines.append(
            f"{tp.get('date')}: {tp.get('response')}"
            + (f" (sum {tp['sum_mm']:g} mm)" if tp.get("sum_mm") is not None else "")
        )
    for key in ("best_overall_response", "best_overall_response_confirmed"):
        if resp.get(key):
            lines.append(f"{key.replace('_', ' ')}: {resp[key]}")
    tg = resp.get("thyroglobulin")
    if isinstance(tg, dict):
        dt_days, ht_days = tg.get("doubling_time_days"), tg.get("halving_time_days")
        kin = (
            f"doubling time {dt_days:.0f} days ({tg['doubling_time_years']:.2f} years)"
            if dt_days
            else f"halving time {ht_days:.0f} days"
            if ht_days
            else "no doubling or halving"
        )
        r2 = tg.get("r2")
        lines.append(
            f"Thyroglobulin: {kin}; doubling rate {tg['doubling_rate_per_year']:.2f}/year; "
            f"r² {'—' if r2 is None else f'{r2:.3f}'}; "
            f"n {tg['n']} ({tg['first_date']} to {tg['last_date']}); "
            f"change from first value {tg['percent_change_from_baseline']:+.1f}%"
            + (f"; flags: {', '.join(tg['flags'])}" if tg.get("flags") else "")
            + f" — {tg.get('engine', '')} (Miyauchi A et al., Thyroid 2011)"
        )
    elif isinstance(tg, str):
        lines.append(f"Thyroglobulin: {tg}")
    if resp.get("source"):
        lines.append(f"Source: {resp['source']}")
    return lines


def _md_cell(x: str) -> str:
    return x.replace("|", "\\|").replace("\n", " ")


def to_markdown(blocks: Sequence[Block]) -> str:
    """Render blocks as GitHub-flavoured Markdown."""
    out: list[str] = []
    for blk in blocks:
        if blk.kind == "h1":
            out.append(f"# {blk.text}\n")
        elif blk.kind == "h2":
            out.append(f"## {blk.text}\n")
        elif blk.kind == "p":
            out.append(f"{blk.text}\n")
        elif blk.kind == "quote":
            out.append(f"> {blk.text}\n")
        elif blk.kind == "bullets":
            out.append("\n".join(f"- {i}" for i in blk.items) + "\n")
        elif blk.kind == "table":
            out.append("| " + " | ".join(blk.header) + " |")
            out.append("|" + "|".join("---" for _ in blk.header) + "|")
            out.extend("| " + " | ".join(_md_cell(c) for c in row) + " |" for row in blk.rows)
            out.append("")
    return "\n".join(out)


def to_rich(blocks: Sequence[Block]) -> list[Any]:
    """Render blocks as rich renderables (print them in order)."""
    out: list[Any] = []
    for blk in blocks:
        if blk.kind == "h1":
            out.append(Rule(Text(blk.text, style="bold")))
        elif blk.kind == "h2":
            out.append(Text("\n" + blk.text, style=blk.style or "bold cyan"))
        elif blk.kind == "p":
            out.append(Text(blk.text))
        elif blk.kind == "quote":
            out.append(Panel(Text(blk.text, style="italic"), border_style="yellow"))
        elif blk.kind == "bullets":
            for i in blk.items:
                out.append(Text("  • " + i))
        elif blk.kind == "table":
            t = Table(show_lines=True, expand=True)
            for h in blk.header:
                t.add_column(h, overflow="fold")
            for row in blk.rows:
                t.add_row(*row)
            out.append(t)
    return out
