"""MkDocs hook: render the ``redif`` command-line reference from the typer commands at build time.

The page ``docs/reference/cli.md`` holds the marker ``<!-- redif-cli-reference -->``; this hook replaces it
with one section per command (usage, help text, arguments and options with type, default and help), walking
the click command tree that typer builds from ``redif.cli.main.app``. Nothing is maintained by hand: a new
command or option appears on the next build.
"""

from __future__ import annotations

import html
import sys
from pathlib import Path
from typing import Any

MARKER = "<!-- redif-cli-reference -->"


def _cell(text: str | None) -> str:
    return html.escape(" ".join((text or "").split())).replace("|", "\\|")


def _unstyle(text: str) -> str:
    return text.replace("\b\n", "").strip()


def _context(cmd: Any, name: str) -> Any:
    from typer._click import Context  # typer ships its own click

    return Context(cmd, info_name=name)


def _command_md(path: list[str], cmd: Any, level: int) -> list[str]:
    name = " ".join(path)
    ctx = _context(cmd, name)
    out = [f"{'#' * level} `{name}`", ""]
    if cmd.help:
        out += [_unstyle(cmd.help), ""]
    usage = " ".join(cmd.collect_usage_pieces(ctx))
    out += ["```text", f"{name} {usage}".rstrip(), "```", ""]
    rows = []
    for p in cmd.get_params(ctx):
        if getattr(p, "hidden", False):
            continue
        rec = p.get_help_record(ctx)
        if rec is None:  # an argument without help
            rec = ((p.metavar or p.name or "").upper(), "")
        opts, text = rec
        req = " (required)" if p.required else ""
        rows.append(f"| `{opts}`{req} | {_cell(text)} |")
    if rows:
        out += ["| argument / option | help |", "|---|---|", *rows, ""]
    if cmd.epilog:
        out += ["```text", _unstyle(cmd.epilog), "```", ""]
    return out


def _walk(path: list[str], cmd: Any, level: int) -> list[str]:
    out = _command_md(path, cmd, level)
    if hasattr(cmd, "list_commands"):
        ctx = _context(cmd, path[-1])
        for sub_name in cmd.list_commands(ctx):
            sub = cmd.get_command(ctx, sub_name)
            if sub is not None and not sub.hidden:
                out += _walk([*path, sub_name], sub, min(level + 1, 4))
    return out


def cli_reference_markdown() -> str:
    """The whole CLI reference as Markdown (used by the hook and by the docs test)."""
    import typer

    from redif.cli.main import app

    return "\n".join(_walk(["redif"], typer.main.get_command(app), 2))


def on_config(config: Any) -> Any:
    """Document this checkout's commands: its ``src`` first on the import path."""
    src = str(Path(config.config_file_path).parent / "src")
    if src not in sys.path:
        sys.path.insert(0, src)
    return config


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    if MARKER in markdown:
        return markdown.replace(MARKER, cli_reference_markdown())
    return markdown
