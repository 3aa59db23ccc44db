# Sourced by the scripts in this folder: make sure .venv exists and matches pyproject.toml.
# Needs only python3 (>= 3.11), pip and gcc on the machine; everything else comes from PyPI.
# Sets ROOT (the checkout) and PY (the venv's python).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"

_bootstrap_python() {
    for candidate in "${PYTHON:-}" python3.11 python3 python; do
        [ -n "$candidate" ] || continue
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    echo "error: Python >= 3.11 not found; install it or set PYTHON=/path/to/python3.11" >&2
    return 1
}

_bootstrap_venv() {
    local stamp="$VENV/.installed-from" want
    want="$(sha256sum "$ROOT/pyproject.toml" | cut -d' ' -f1)"
    if [ -x "$PY" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        return 0
    fi
    if [ ! -x "$PY" ]; then
        local base
        base="$(_bootstrap_python)"
        echo "setup: creating $VENV with $base" >&2
        "$base" -m venv "$VENV"
    fi
    echo "setup: installing the project and its dev tools into .venv (first run only)" >&2
    "$PY" -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
    "$PY" -m pip install --quiet --disable-pip-version-check -e "$ROOT[dev]" >&2
    echo "$want" >"$stamp"
}

_bootstrap_venv
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
