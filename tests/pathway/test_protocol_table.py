"""Issue 10: protocol templates are one table, the folder ``redif/data/protocols`` (one ``<name>.yaml``
per template), read by the engine, ``redif patient protocols`` and the regimens.

Expected values: the folder's file names themselves; the published designs named in
docs/methods/protocols.md (MERAIODE, Ho 2013, ERRITI, SEL-I-METRY, Rothenberg).
"""

from __future__ import annotations

import json
import re

from typer.testing import CliRunner

from redif.cli.main import app
from redif.data import load_yaml
from redif.pathway.protocol import available_protocols, protocol_names


def test_table_is_complete() -> None:
    """Every file parses, is named as its file, and every event has a day or an anchor, a source and a
    grade."""
    table = available_protocols()
    assert tuple(sorted(table)) == protocol_names()
    assert {"meraiode", "ho2013", "erriti", "sel-i-metry", "rothenberg"} <= set(table)
    for name, t in table.items():
        assert t.name == name and t.title and t.source and t.events
        for e in t.events:
            assert e.source and e.grade is not None, (name, e.id)
            assert e.day is not None or e.after is not None, (name, e.id)


def test_cli_lists_the_table() -> None:
    """``redif patient protocols --json`` lists exactly the table; the ``--protocol`` help points there
    instead of copying the names."""
    runner = CliRunner()
    out = runner.invoke(app, ["patient", "protocols", "--json"])
    assert out.exit_code == 0, out.output
    assert [r["name"] for r in json.loads(out.output)] == list(protocol_names())
    raw = runner.invoke(app, ["patient", "assess", "--help"], terminal_width=400).output
    help_text = re.sub(r"\s+", " ", re.sub(r"[│╭╮╰╯─]", " ", raw))
    assert "redif patient protocols" in help_text
    assert not any(f"{n}," in help_text for n in protocol_names())  # no hand-copied list to drift


def test_regimens_name_table_entries() -> None:
    """Every regimen's ``default_protocol`` is an entry of the table."""
    regimens = load_yaml("regimens.yaml")["regimens"]
    names = set(protocol_names())
    defaults = {r["default_protocol"] for r in regimens if r.get("default_protocol")}
    assert defaults and defaults <= names
