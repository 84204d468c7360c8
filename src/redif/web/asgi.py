"""ASGI entry point for multi-worker serving (``redif serve --workers N``): the app is built from the
settings that ``redif serve`` put into ``REDIF_SETTINGS_JSON``."""

from __future__ import annotations

import json
import os
from pathlib import Path

from redif.registry.auth import AuthSettings
from redif.web.app import create_app
from redif.web.settings import WebSettings


def _settings() -> WebSettings:
    d = json.loads(os.environ["REDIF_SETTINGS_JSON"])
    d["data_dir"] = Path(d["data_dir"])
    d["auth"] = AuthSettings(**d["auth"])
    return WebSettings(**d)


app = create_app(_settings(), migrate_db=False)
