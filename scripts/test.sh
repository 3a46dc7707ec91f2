#!/usr/bin/env bash
# The whole test suite: lint, data validation, training, then pytest in both environments.
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 RASA_TELEMETRY_ENABLED=false SQLALCHEMY_SILENCE_UBER_WARNING=1
export RASA_CACHE_DIRECTORY="${RASA_CACHE_DIRECTORY:-$HOME/.cache/shopdesk/rasa-cache}"
step() { printf '\n\033[1;34m== %s (%s UTC)\033[0m\n' "$*" "$(date -u +%H:%M:%S)"; }

step "ruff"
.venv/app/bin/ruff check .
step "training data"
.venv/app/bin/python -m training.bitext
.venv/app/bin/python -m training.clinc
.venv/rasa/bin/rasa data validate --domain domain.yml --data training_data --config config.yml --quiet
step "rasa train (reuses the cache when nothing changed)"
.venv/rasa/bin/rasa train --config config.yml --domain domain.yml --data training_data --out models \
  --fixed-model-name shopdesk --quiet
step "Rasa-side tests (Python 3.10)"
.venv/rasa/bin/python -m pytest tests/bot -q -p no:cacheprovider
step "app-side tests (Python 3.11)"
.venv/app/bin/python -m pytest tests -q -p no:cacheprovider
step "all passed"
