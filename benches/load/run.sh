#!/usr/bin/env bash
# Load bench: keep-alive (and new-connection) HTTPS GETs of a 1 KiB body, direct to
# a local upstream, through clawgate and through mitmproxy, interleaved, with
# medians and ratios. See benches/load/README.md.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-10}"               # seconds per run
CONNECTIONS="${CONNECTIONS:-16}"         # keep-alive mode
NEWCONN_CONNECTIONS="${NEWCONN_CONNECTIONS:-8}"
WARMUP="${WARMUP:-1}"                    # seconds per target and mode, not measured
MODES="${MODES:-keepalive newconn}"
TARGETS="${TARGETS:-direct clawgate mitmproxy}"
BODY_BYTES="${BODY_BYTES:-1024}"
# SKIP_BUILD=1: use the binaries already built. KEEP_TMP=1: keep the scratch dir.

log() { echo "[bench] $*" >&2; }
die() { echo "[bench] error: $*" >&2; exit 1; }

for t in $TARGETS; do
    case "$t" in direct | clawgate | mitmproxy) ;; *) die "unknown target \`$t\` in TARGETS" ;; esac
done
for m in $MODES; do
    case "$m" in keepalive | newconn) ;; *) die "unknown mode \`$m\` in MODES" ;; esac
done
wants() { [[ " $TARGETS " == *" $1 "* ]]; }

# --- tools and binaries ----------------------------------------------------------
"$here/setup.sh"
oha="$repo/target/tools/bin/oha"
mitmdump="$repo/.venv-bench/bin/mitmdump"

build=(cargo build --release --example bench_upstream)
wants clawgate && build+=(--bin clawgate)
if [[ -n "${SKIP_BUILD:-}" ]]; then
    log "SKIP_BUILD set: using the binaries already in target/release"
else
    log "building: ${build[*]}"
    (cd "$repo" && "${build[@]}") >&2
fi
upstream_bin="$repo/target/release/examples/bench_upstream"
clawgate_bin="$repo/target/release/clawgate"

# --- scratch space and cleanup ---------------------------------------------------
tmp="$(mktemp -d "${TMPDIR:-/tmp}/clawgate-load.XXXXXX")"
children=()
cleanup() {
    local pid
    for pid in "${children[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${children[@]}"; do
        for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if [[ -n "${KEEP_TMP:-}" ]]; then log "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Waits up to 20 s for command "$@" to succeed; $1 describes what is awaited.
wait_for() {
    local what="$1" log_file="$2"
    shift 2
    for _ in $(seq 1 200); do
        "$@" && return 0
        sleep 0.1
    done
    [[ -f "$log_file" ]] && tail -n 20 "$log_file" >&2
    die "timed out waiting for $what"
}
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# utime + stime of a process, in clock ticks (fields 14 and 15 of /proc/PID/stat;
# the command name in field 2 may hold spaces, so cut after its closing paren).
cpu_ticks() {
    local stat
    stat="$(cat "/proc/$1/stat")" || die "process $1 is gone"
    stat="${stat##*) }"
    set -- $stat
    echo $((${12} + ${13}))
}

# --- upstream ----------------------------------------------------------------------
"$upstream_bin" --ca-out "$tmp/upstream-ca.pem" >"$tmp/upstream.out" 2>"$tmp/upstream.log" &
children+=($!)
wait_for "the upstream" "$tmp/upstream.log" grep -q '^listening on ' "$tmp/upstream.out"
upstream_port="$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$tmp/upstream.out")"
[[ -n "$upstream_port" ]] || die "unexpected upstream output: $(cat "$tmp/upstream.out")"
url="https://localhost:$upstream_port/bytes?n=$BODY_BYTES"
log "upstream on 127.0.0.1:$upstream_port"

# --- clawgate ----------------------------------------------------------------------
declare -A proxy_pid proxy_port proxy_ca
if wants clawgate; then
    mkdir -p "$tmp/rules" "$tmp/clawgate-ca"
    cat >"$tmp/rules/bench.hcl" <<EOF
gateway {
  upstream_ca = "$tmp/upstream-ca.pem"
}
endpoint "https" "bench" {
  hosts = ["localhost"]
}
rule "bench reads" {
  match  = http.method == "GET" && http.path.startsWith("/bytes")
  action = "allow"
}
EOF
    RUST_LOG=warn "$clawgate_bin" run --rules "$tmp/rules" --ca-dir "$tmp/clawgate-ca" --audit-log "$tmp/audit.jsonl" \
        --listen 127.0.0.1:0 --admin 127.0.0.1:0 >"$tmp/clawgate.out" 2>"$tmp/clawgate.log" &
    proxy_pid[clawgate]=$!
    children+=($!)
    wait_for "clawgate" "$tmp/clawgate.log" grep -q '^export HTTPS_PROXY=http://127\.0\.0\.1:' "$tmp/clawgate.out"
    proxy_port[clawgate]="$(sed -n 's|^export HTTPS_PROXY=http://127\.0\.0\.1:\([0-9]*\).*$|\1|p' "$tmp/clawgate.out" | head -n1)"
    proxy_ca[clawgate]="$tmp/clawgate-ca/ca.pem"
    wait_for "clawgate's CA" "$tmp/clawgate.log" test -s "${proxy_ca[clawgate]}"
    log "clawgate on 127.0.0.1:${proxy_port[clawgate]} (pid ${proxy_pid[clawgate]})"
fi

# --- mitmproxy ---------------------------------------------------------------------
if wants mitmproxy; then
    proxy_port[mitmproxy]="$(free_port)"
    mkdir -p "$tmp/mitmproxy"
    "$mitmdump" --listen-host 127.0.0.1 -p "${proxy_port[mitmproxy]}" -q \
        --set confdir="$tmp/mitmproxy" \
        --set ssl_verify_upstream_trusted_ca="$tmp/upstream-ca.pem" \
        >"$tmp/mitmproxy.log" 2>&1 &
    proxy_pid[mitmproxy]=$!
    children+=($!)
    proxy_ca[mitmproxy]="$tmp/mitmproxy/mitmproxy-ca-cert.pem"
    wait_for "mitmproxy" "$tmp/mitmproxy.log" port_open "${proxy_port[mitmproxy]}"
    wait_for "mitmproxy's CA" "$tmp/mitmproxy.log" test -s "${proxy_ca[mitmproxy]}"
    log "mitmproxy on 127.0.0.1:${proxy_port[mitmproxy]} (pid ${proxy_pid[mitmproxy]})"
fi

# --- runs --------------------------------------------------------------------------
# oha arguments for reaching $1.
target_args() {
    case "$1" in
        direct) echo "--cacert $tmp/upstream-ca.pem" ;;
        *) echo "-x http://127.0.0.1:${proxy_port[$1]} --cacert ${proxy_ca[$1]}" ;;
    esac
}
mode_args() {
    case "$1" in
        keepalive) echo "-c $CONNECTIONS" ;;
        newconn) echo "-c $NEWCONN_CONNECTIONS --disable-keepalive" ;;
    esac
}
# Runs oha: mode, target, seconds, output file.
run_oha() {
    # shellcheck disable=SC2046 # word splitting of the argument strings is intended
    "$oha" -z "${3}s" --no-tui --output-format json --ipv4 \
        $(mode_args "$1") $(target_args "$2") "$url" >"$4" 2>>"$tmp/oha.log"
}

# One request per target first: a leg that cannot serve fails the bench here.
for target in $TARGETS; do
    # shellcheck disable=SC2046
    "$oha" -n 2 -c 1 --no-tui --output-format json --ipv4 $(target_args "$target") "$url" \
        >"$tmp/check-$target.json" 2>>"$tmp/oha.log" || die "oha failed against $target"
    ok="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("statusCodeDistribution", {}).get("200", 0))' "$tmp/check-$target.json")"
    if [[ "$ok" != 2 ]]; then
        cat "$tmp/check-$target.json" >&2
        for f in "$tmp"/*.log; do echo "--- $f" >&2; tail -n 20 "$f" >&2; done
        die "$target did not answer 200 to GET $url"
    fi
done

echo "clawgate load bench: GET $url (${BODY_BYTES} B body)"
echo "machine: $(nproc) cores, $(uname -r); oha $("$oha" --version | awk '{print $2}')$(wants mitmproxy && echo ", $("$mitmdump" --version 2>/dev/null | head -n1)"); clawgate $(cd "$repo" && git rev-parse --short HEAD 2>/dev/null || echo '(no commit)')"
echo "settings: ROUNDS=$ROUNDS DURATION=${DURATION}s CONNECTIONS=$CONNECTIONS NEWCONN_CONNECTIONS=$NEWCONN_CONNECTIONS MODES='$MODES' TARGETS='$TARGETS'"
echo

runs="$tmp/runs.tsv"
: >"$runs"
mkdir -p "$tmp/results"
for mode in $MODES; do
    echo "== $mode ($(mode_args "$mode"))"
    for target in $TARGETS; do run_oha "$mode" "$target" "$WARMUP" /dev/null || true; done
    for round in $(seq 1 "$ROUNDS"); do
        for target in $TARGETS; do
            out="$tmp/results/$mode-$target-$round.json"
            pid="${proxy_pid[$target]:-}"
            before=0
            [[ -n "$pid" ]] && before="$(cpu_ticks "$pid")"
            run_oha "$mode" "$target" "$DURATION" "$out" || die "oha failed ($mode, $target); see $tmp/oha.log"
            ticks=-1
            [[ -n "$pid" ]] && ticks=$(($(cpu_ticks "$pid") - before))
            printf '%s\t%s\t%s\t%s\t%s\n' "$mode" "$target" "$round" "$ticks" "$out" >>"$runs"
            python3 "$here/report.py" run "$out" "$target" "$round" "$ticks"
        done
    done
    echo
done

python3 "$here/report.py" summary "$runs"
