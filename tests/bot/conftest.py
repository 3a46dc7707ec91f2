"""Rasa-side tests (Python 3.10 env): no model hub, no telemetry, whichever test file runs first."""

from __future__ import annotations

import os

for _key, _value in {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "RASA_TELEMETRY_ENABLED": "false"}.items():
    os.environ.setdefault(_key, _value)
