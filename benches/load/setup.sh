#!/usr/bin/env bash
# Installs what the load bench needs, idempotently:
#   - oha (load generator) into <repo>/target/tools/bin
#   - mitmproxy into <repo>/.venv-bench (needs Python >= 3.12)
#   - the no-op MITM peer into <repo>/target/noop-mitm
#   - inferno (flame graphs) into <repo>/target/tools/bin
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
tools="$repo/target/tools"
venv="$repo/.venv-bench"
mitmproxy_spec="${MITMPROXY_SPEC:-mitmproxy>=12,<13}"

log() { echo "setup: $*" >&2; }

# --- oha ---------------------------------------------------------------------
if [[ -x "$tools/bin/oha" ]]; then
    log "oha present: $("$tools/bin/oha" --version)"
else
    log "installing oha into $tools (cargo install, takes a few minutes)"
    cargo install oha --locked --root "$tools"
fi

# --- Python >= 3.12 for mitmproxy ----------------------------------------------
# Echoes the interpreter path if it is Python >= 3.12.
py_ok() {
    local py="$1"
    [[ -x "$py" ]] || return 1
    "$py" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null || return 1
    echo "$py"
}

find_python() {
    local cand prefix
    # An explicit choice wins.
    if [[ -n "${BENCH_PYTHON:-}" ]]; then
        py_ok "$BENCH_PYTHON" && return 0
        log "BENCH_PYTHON=$BENCH_PYTHON is not Python >= 3.12"
        return 1
    fi
    # pyenv: newest installed 3.12 / 3.13 / 3.14.
    if command -v pyenv >/dev/null 2>&1; then
        for v in 3.14 3.13 3.12; do
            prefix="$(pyenv prefix "$v" 2>/dev/null)" || continue
            py_ok "$prefix/bin/python" && return 0
        done
    fi
    for cand in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.1[2-9]*/bin/python; do
        py_ok "$cand" && return 0
    done
    # Plain interpreters on PATH (e.g. Debian's python3.12 / python3.13).
    for v in python3.14 python3.13 python3.12 python3; do
        cand="$(command -v "$v" 2>/dev/null)" || continue
        py_ok "$cand" && return 0
    done
    return 1
}

if [[ -x "$venv/bin/mitmdump" ]] && py_ok "$venv/bin/python" >/dev/null; then
    log "mitmproxy present: $("$venv/bin/mitmdump" --version 2>/dev/null | head -n1)"
else
    if ! python="$(find_python)"; then
        echo "setup: error: mitmproxy 12 needs Python >= 3.12 and none was found." >&2
        echo "setup: install one (e.g. 'pyenv install 3.12' or 'apt-get install python3.12-venv')" >&2
        echo "setup: or point BENCH_PYTHON at it." >&2
        exit 1
    fi
    log "creating $venv with $python ($("$python" --version 2>&1))"
    rm -rf "$venv"
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --upgrade pip
    "$venv/bin/python" -m pip install --quiet "$mitmproxy_spec"
    log "mitmproxy installed: $("$venv/bin/mitmdump" --version 2>/dev/null | head -n1)"
fi

# --- the no-op MITM peer (hudsucker) ----------------------------------------------
# Its own crate and lockfile, so clawgate's own build never compiles it.
log "building the no-op MITM (benches/load/noop-mitm)"
(cd "$repo/benches/load/noop-mitm" && CARGO_TARGET_DIR="$repo/target/noop-mitm" cargo build --release --locked --quiet)

# --- inferno (flame graphs for PROFILE=) -----------------------------------------
if [[ -x "$tools/bin/inferno-flamegraph" ]]; then
    log "inferno present"
else
    log "installing inferno into $tools (cargo install, takes a few minutes)"
    cargo install inferno --locked --root "$tools"
fi
