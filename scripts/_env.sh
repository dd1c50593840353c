# Shared by scripts/run and scripts/test: make sure .venv exists and has what this
# checkout declares, reinstalling only when a pyproject.toml changed.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "facta needs Python 3.11 or newer; set PYTHON=/path/to/python3.11" >&2
  exit 1
fi

ensure_venv() {  # ensure_venv EXTRAS
  local extras=$1
  if [ ! -x .venv/bin/python ]; then
    echo "==> creating .venv"
    "$python" -m venv .venv
  fi
  local stamp=.venv/.install-stamp
  local wanted
  wanted=$(cat pyproject.toml samples/*/pyproject.toml | sha256sum | cut -c1-16)-$extras
  if [ ! -f "$stamp" ] || ! grep -qx "$wanted" "$stamp"; then
    echo "==> installing facta[$extras] and the samples into .venv"
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e ".[$extras]" $(for s in samples/*/; do printf -- '-e %s ' "$s"; done)
    echo "$wanted" > "$stamp"
  fi
}
