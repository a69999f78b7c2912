#!/usr/bin/env bash
# Load bench: clawgate side by side with direct, a no-op MITM (hudsucker) and
# mitmproxy, in one run: interleaved rounds of every scenario, medians and
# ratios; then 1 GiB bodies and many idle connections, with the proxies' RSS.
# See benches/load/README.md.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-8}"                # seconds per run
WARMUP="${WARMUP:-1}"                    # seconds per target and scenario, not measured
SCENARIOS="${SCENARIOS:-ka16 ka1 mib newconn aws h2}"
EXTRAS="${EXTRAS-bigbody idle}"   # empty: none
TARGETS="${TARGETS:-direct clawgate noop mitmproxy}"
CONNECTIONS="${CONNECTIONS:-16}"         # ka16 and aws
MIB_CONNECTIONS="${MIB_CONNECTIONS:-4}"
NEWCONN_CONNECTIONS="${NEWCONN_CONNECTIONS:-8}"
H2_CONNECTIONS="${H2_CONNECTIONS:-4}"
H2_STREAMS="${H2_STREAMS:-4}"            # parallel streams per HTTP/2 connection
BIG_BYTES="${BIG_BYTES:-1073741824}"     # bigbody: one download and one upload
IDLE_CONNECTIONS="${IDLE_CONNECTIONS:-10000}"
# PROFILE=SCENARIO: after the rounds, one more run of that scenario per
# gateway (clawgate, before) under `perf record`, kept as a flame graph
# (target/bench-profile/) and its top functions printed. PROFILE_DIR overrides where.
PROFILE="${PROFILE:-}"
PROFILE_DIR="${PROFILE_DIR:-$repo/target/bench-profile}"
# CLAWGATE_BEFORE=PATH: another clawgate binary (an earlier commit), measured
# as the target `before` beside `clawgate`. SKIP_BUILD=1: use the binaries
# already built. KEEP_TMP=1: keep the scratch dir.

log() { echo "[bench] $*" >&2; }
die() { echo "[bench] error: $*" >&2; exit 1; }

for t in $TARGETS; do
    case "$t" in direct | clawgate | noop | mitmproxy) ;; *) die "unknown target \`$t\` in TARGETS" ;; esac
done
for s in $SCENARIOS; do
    case "$s" in ka16 | ka1 | mib | newconn | aws | h2) ;; *) die "unknown scenario \`$s\` in SCENARIOS" ;; esac
done
for e in $EXTRAS; do
    case "$e" in bigbody | idle) ;; *) die "unknown extra \`$e\` in EXTRAS" ;; esac
done
if [[ -n "${CLAWGATE_BEFORE:-}" ]]; then
    [[ -x "$CLAWGATE_BEFORE" ]] || die "CLAWGATE_BEFORE=$CLAWGATE_BEFORE is not an executable"
    # `before` runs right after `clawgate`, so the two meet the same machine.
    TARGETS="$(echo " $TARGETS " | sed 's/ clawgate / clawgate before /')"
fi
wants() { [[ " $TARGETS " == *" $1 "* ]]; }

# Many sockets: the idle scenario opens thousands, on both sides of each proxy.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# --- tools and binaries ----------------------------------------------------------
"$here/setup.sh"
oha="$repo/target/tools/bin/oha"
mitmdump="$repo/.venv-bench/bin/mitmdump"
noop_bin="$repo/target/noop-mitm/release/noop-mitm"

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

# Waits up to 20 s for command "$@" to succeed; $1 describes what is awaited,
# $2 is the log shown if it never does.
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
# Resident set size of a process, in KiB.
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# --- upstream ----------------------------------------------------------------------
"$upstream_bin" --ca-out "$tmp/upstream-ca.pem" >"$tmp/upstream.out" 2>"$tmp/upstream.log" &
children+=($!)
wait_for "the upstream" "$tmp/upstream.log" grep -q '^listening on ' "$tmp/upstream.out"
upstream_port="$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$tmp/upstream.out")"
[[ -n "$upstream_port" ]] || die "unexpected upstream output: $(cat "$tmp/upstream.out")"
log "upstream on 127.0.0.1:$upstream_port"

small_url="https://localhost:$upstream_port/bytes?n=1024"
mib_url="https://localhost:$upstream_port/bytes?n=1048576"
# The AWS path: S3 ListObjects of the bucket `bytes` (the upstream's /bytes
# route answers it), signed by the agent with a placeholder key for account
# 111111111111; clawgate assumes its role (the upstream plays STS) and
# re-signs.
aws_host="s3.us-east-1.amazonaws.com"
aws_url="https://$aws_host/bytes?n=1024"
aws_date="$(date -u +%Y%m%dT%H%M%SZ)"
aws_headers=(
    -H "authorization: AWS4-HMAC-SHA256 Credential=AKIA111111111111XXXX/${aws_date:0:8}/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=0000000000000000000000000000000000000000000000000000000000000000"
    -H "x-amz-date: $aws_date"
    -H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
)

# --- proxies -----------------------------------------------------------------------
declare -A proxy_pid proxy_port proxy_ca

# Starts clawgate binary $2 as target $1.
start_clawgate() {
    local name="$1" bin="$2" dir="$tmp/$1"
    mkdir -p "$dir/rules" "$dir/ca"
    printf 'AKIABENCHBASEKEY0000' >"$dir/rules/base-key-id"
    printf 'bench-base-secret' >"$dir/rules/base-secret"
    cat >"$dir/rules/bench.hcl" <<EOF
gateway {
  upstream_ca     = "$tmp/upstream-ca.pem"
  resolve         = { "*.amazonaws.com" = "127.0.0.1:$upstream_port" }
  dial_private    = ["127.0.0.1"]
  max_connections = $((IDLE_CONNECTIONS + 2000))
  audit_rotate_mb = 65536   # no record rotated away before it is counted
}
credential "aws_account" "base" {
  access_key_id     = file("base-key-id")
  secret_access_key = file("base-secret")
}
endpoint "https" "bench" {
  hosts = ["localhost"]
}
endpoint "aws_api" "org" {
  hosts      = ["*.amazonaws.com"]
  role       = "clawgate-bench"
  credential = aws_account.base
  accounts   = ["111111111111=bench"]
}
rule "bench reads" {
  match  = http.method == "GET" && http.path.startsWith("/bytes")
  action = "allow"
}
rule "bench uploads" {
  match  = http.method == "PUT" && http.path == "/sink"
  action = "allow"
}
rule "bench lists" {
  match  = aws.service == "s3" && aws.action == "ListBucket"
  action = "allow"
}
EOF
    RUST_LOG=warn "$bin" run --rules "$dir/rules" --ca-dir "$dir/ca" --audit-log "$dir/audit.jsonl" \
        --listen 127.0.0.1:0 --admin 127.0.0.1:0 >"$tmp/$name.out" 2>"$tmp/$name.log" &
    proxy_pid[$name]=$!
    children+=($!)
    wait_for "$name" "$tmp/$name.log" grep -q '^export HTTPS_PROXY=http://127\.0\.0\.1:' "$tmp/$name.out"
    proxy_port[$name]="$(sed -n 's|^export HTTPS_PROXY=http://127\.0\.0\.1:\([0-9]*\).*$|\1|p' "$tmp/$name.out" | head -n1)"
    proxy_ca[$name]="$dir/ca/ca.pem"
    wait_for "$name's CA" "$tmp/$name.log" test -s "${proxy_ca[$name]}"
}

wants clawgate && start_clawgate clawgate "$clawgate_bin"
wants before && start_clawgate before "$CLAWGATE_BEFORE"

if wants noop; then
    "$noop_bin" --ca-out "$tmp/noop-ca.pem" --upstream-ca "$tmp/upstream-ca.pem" >"$tmp/noop.out" 2>"$tmp/noop.log" &
    proxy_pid[noop]=$!
    children+=($!)
    wait_for "the no-op MITM" "$tmp/noop.log" grep -q '^listening on ' "$tmp/noop.out"
    proxy_port[noop]="$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$tmp/noop.out")"
    proxy_ca[noop]="$tmp/noop-ca.pem"
fi

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
fi
for t in $TARGETS; do
    [[ -n "${proxy_pid[$t]:-}" ]] && log "$t on 127.0.0.1:${proxy_port[$t]} (pid ${proxy_pid[$t]})"
done

# --- runs --------------------------------------------------------------------------
# The targets of scenario $1: the AWS path needs AWS host names, which only
# direct (oha's --connect-to) and clawgate (its `resolve`) point at the upstream.
scenario_targets() {
    local t
    for t in $TARGETS; do
        [[ "$1" == aws && "$t" != direct && "$t" != clawgate && "$t" != before ]] && continue
        echo "$t"
    done
}
# oha resolves the URL's host before it dials even through a proxy (a
# look-up to warm its cache), and AWS names do not resolve here: for the AWS
# path through a proxy it runs in a mount namespace of its own, where
# /etc/hosts names the AWS host (the CONNECT still carries the name).
printf '127.0.0.1 localhost\n127.0.0.1 %s\n' "$aws_host" >"$tmp/hosts"
in_own_hosts=(unshare --mount -- sh -c 'mount --bind "$1" /etc/hosts && shift && exec "$@"' sh "$tmp/hosts")
# Fills the arrays `oha_cmd` and `oha_args` with how oha is run and its
# arguments, for scenario $1 against target $2.
oha_args_for() {
    local scenario="$1" target="$2"
    oha_cmd=("$oha")
    [[ "$scenario" == aws && "$target" != direct ]] && oha_cmd=("${in_own_hosts[@]}" "$oha")
    oha_args=()
    case "$scenario" in
        ka16 | aws) oha_args+=(-c "$CONNECTIONS") ;;
        ka1) oha_args+=(-c 1) ;;
        mib) oha_args+=(-c "$MIB_CONNECTIONS") ;;
        newconn) oha_args+=(-c "$NEWCONN_CONNECTIONS" --disable-keepalive) ;;
        h2) oha_args+=(--http2 -c "$H2_CONNECTIONS" -p "$H2_STREAMS") ;;
    esac
    if [[ "$target" == direct ]]; then
        oha_args+=(--cacert "$tmp/upstream-ca.pem")
        [[ "$scenario" == aws ]] && oha_args+=(--connect-to "$aws_host:443:localhost:$upstream_port")
    else
        oha_args+=(-x "http://127.0.0.1:${proxy_port[$target]}" --cacert "${proxy_ca[$target]}")
    fi
    case "$scenario" in
        mib) oha_args+=("$mib_url") ;;
        aws) oha_args+=("${aws_headers[@]}" "$aws_url") ;;
        *) oha_args+=("$small_url") ;;
    esac
}
# Runs oha for $3 seconds: scenario $1, target $2, JSON to $4.
run_oha() {
    oha_args_for "$1" "$2"
    "${oha_cmd[@]}" -z "${3}s" --no-tui --output-format json --ipv4 "${oha_args[@]}" >"$4" 2>>"$tmp/oha.log"
}

# Two requests per scenario and target first: a leg that cannot serve fails the bench here.
for scenario in $SCENARIOS; do
    for target in $(scenario_targets "$scenario"); do
        oha_args_for "$scenario" "$target"
        check="$tmp/check-$scenario-$target.json"
        "${oha_cmd[@]}" -n 2 --no-tui --output-format json --ipv4 "${oha_args[@]}" >"$check" 2>>"$tmp/oha.log" ||
            die "oha failed against $target ($scenario)"
        ok="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("statusCodeDistribution", {}).get("200", 0))' "$check")"
        if [[ "$ok" != 2 ]]; then
            cat "$check" >&2
            for f in "$tmp"/*.log; do echo "--- $f" >&2; tail -n 20 "$f" >&2; done
            die "$target did not answer 200 in scenario $scenario"
        fi
    done
done

echo "clawgate load bench"
echo "machine: $(nproc) cores, $(uname -r); oha $("$oha" --version | awk '{print $2}')$(wants mitmproxy && echo ", $("$mitmdump" --version 2>/dev/null | head -n1)"); clawgate $(cd "$repo" && git rev-parse --short HEAD 2>/dev/null || echo '(no commit)')$(wants before && echo "; before = $CLAWGATE_BEFORE")"
echo "settings: ROUNDS=$ROUNDS DURATION=${DURATION}s SCENARIOS='$SCENARIOS' TARGETS='$TARGETS'"
echo

runs="$tmp/runs.tsv"
: >"$runs"
mkdir -p "$tmp/results"
for scenario in $SCENARIOS; do
    echo "== $scenario"
    targets="$(scenario_targets "$scenario")"
    for target in $targets; do run_oha "$scenario" "$target" "$WARMUP" "$tmp/results/warmup-$scenario-$target.json" || true; done
    for round in $(seq 1 "$ROUNDS"); do
        for target in $targets; do
            out="$tmp/results/$scenario-$target-$round.json"
            pid="${proxy_pid[$target]:-}"
            before_ticks=0
            [[ -n "$pid" ]] && before_ticks="$(cpu_ticks "$pid")"
            run_oha "$scenario" "$target" "$DURATION" "$out" || die "oha failed ($scenario, $target); see $tmp/oha.log"
            ticks=-1
            [[ -n "$pid" ]] && ticks=$(($(cpu_ticks "$pid") - before_ticks))
            printf '%s\t%s\t%s\t%s\t%s\n' "$scenario" "$target" "$round" "$ticks" "$out" >>"$runs"
            python3 "$here/report.py" run "$out" "$target" "$round" "$ticks"
        done
    done
    echo
done

[[ -s "$runs" ]] && python3 "$here/report.py" summary "$runs"

# --- profile -------------------------------------------------------------------------
if [[ -n "$PROFILE" ]]; then
    mkdir -p "$PROFILE_DIR"
    echo "== profile: $PROFILE under perf record (not counted above)"
    for target in clawgate before; do
        wants "$target" || continue
        data="$tmp/perf-$target.data"
        perf record -q -F 1999 -g --call-graph dwarf,16384 -p "${proxy_pid[$target]}" -o "$data" -- sleep "$DURATION" \
            2>>"$tmp/perf.log" &
        perf_pid=$!
        sleep 0.5
        run_oha "$PROFILE" "$target" "$((DURATION - 1))" "$tmp/results/profile-$PROFILE-$target.json" || die "oha failed while profiling $target"
        wait "$perf_pid" || die "perf record failed; see $tmp/perf.log"
        svg="$PROFILE_DIR/$PROFILE-$target.svg"
        perf script -i "$data" 2>>"$tmp/perf.log" | "$repo/target/tools/bin/inferno-collapse-perf" >"$tmp/$target.folded"
        "$repo/target/tools/bin/inferno-flamegraph" --title "$target, $PROFILE" <"$tmp/$target.folded" >"$svg"
        cp "$tmp/$target.folded" "$PROFILE_DIR/$PROFILE-$target.folded"
        echo "-- $target: flame graph $svg; top functions by own samples:"
        perf report -i "$data" --no-children --sort symbol --stdio -g none --percent-limit 1.5 2>>"$tmp/perf.log" |
            grep -v "^#" | grep -v "^$" | sed "s/  *$//; s/  *- *- *$//" | head -n 25
    done
    echo
fi

# --- 1 GiB bodies: peak RSS while one streams --------------------------------------
# Samples the RSS of process $1 every 50 ms into file $2 (the highest seen) until killed.
sample_rss() {
    local pid="$1" out="$2" max=0 now
    while now="$(rss_kib "$pid" 2>/dev/null)" && [[ -n "$now" ]]; do
        ((now > max)) && max="$now" && echo "$max" >"$out"
        sleep 0.05
    done
}
# Runs "$@" while sampling the RSS of target $1's process; prints seconds and peak MiB.
with_rss() {
    local target="$1" pid="${proxy_pid[$1]}" peak="$tmp/peak-$1" sampler start end
    shift
    rss_kib "$pid" >"$peak"
    sample_rss "$pid" "$peak" &
    sampler=$!
    start="$(date +%s.%N)"
    "$@"
    end="$(date +%s.%N)"
    kill "$sampler" 2>/dev/null || true
    wait "$sampler" 2>/dev/null || true
    python3 -c 'import sys; print(f"{float(sys.argv[2]) - float(sys.argv[1]):.1f} s, peak RSS {int(sys.argv[3]) / 1024:.1f} MiB")' \
        "$start" "$end" "$(cat "$peak")"
}
if [[ " $EXTRAS " == *" bigbody "* ]]; then
    echo "== bigbody: one $BIG_BYTES-byte download and one upload (curl), each proxy's peak RSS"
    for target in $TARGETS; do
        [[ "$target" == direct || "$target" == mitmproxy ]] && continue # mitmproxy buffers whole bodies
        curl_proxy=(curl -sS --fail -x "http://127.0.0.1:${proxy_port[$target]}" --cacert "${proxy_ca[$target]}")
        down="$(with_rss "$target" "${curl_proxy[@]}" -o /dev/null "https://localhost:$upstream_port/bytes?n=$BIG_BYTES")"
        up="$(with_rss "$target" sh -c "head -c $BIG_BYTES /dev/zero | $(printf '%q ' "${curl_proxy[@]}") -o '$tmp/sink-$target' -T - 'https://localhost:$upstream_port/sink'")"
        grep -q "^bytes=$BIG_BYTES " "$tmp/sink-$target" || die "$target's upload did not arrive whole: $(cat "$tmp/sink-$target")"
        printf '  %-10s download %s; upload %s\n' "$target" "$down" "$up"
        echo 2 >>"$tmp/extra-requests-$target"
    done
    echo
fi

# --- idle connections: RSS with many open --------------------------------------------
if [[ " $EXTRAS " == *" idle "* ]]; then
    echo "== idle: $IDLE_CONNECTIONS agent connections, each after one request through its intercepted tunnel"
    for target in $TARGETS; do
        [[ "$target" == direct || "$target" == mitmproxy ]] && continue # mitmproxy: minutes to open them
        pid="${proxy_pid[$target]}"
        base="$(rss_kib "$pid")"
        ready="$tmp/idle-ready-$target"
        python3 "$here/idle.py" "${proxy_port[$target]}" "${proxy_ca[$target]}" "$small_url" "$IDLE_CONNECTIONS" "$ready" \
            2>>"$tmp/idle.log" &
        idle_pid=$!
        for _ in $(seq 1 1800); do [[ -s "$ready" ]] && break; sleep 0.1; done
        [[ -s "$ready" ]] || die "idle connections through $target were not open after 180 s; see $tmp/idle.log"
        sleep 1
        held="$(rss_kib "$pid")"
        python3 -c 'import sys; n, base, held = (int(a) for a in sys.argv[2:]); print(f"  {sys.argv[1]:<10} {n} open: RSS {held / 1024:.1f} MiB ({base / 1024:.1f} MiB before, {(held - base) / max(n, 1):.1f} KiB per connection)")' \
            "$target" "$(cat "$ready")" "$base" "$held"
        cat "$ready" >>"$tmp/extra-requests-$target"
        kill -TERM "$idle_pid" 2>/dev/null || true
        wait "$idle_pid" 2>/dev/null || true
        sleep 2
    done
fi

# --- one audit record per request --------------------------------------------------
# Each gateway is stopped (SIGTERM: it drains and flushes its audit log), then
# its records are counted against the responses its agents received.
# Requests oha cut off at the end of a run may or may not have been answered,
# so they bound the count from above.
for target in clawgate before; do
    wants "$target" || continue
    pid="${proxy_pid[$target]}"
    kill -TERM "$pid"
    wait "$pid" 2>/dev/null || true
    extra=0
    [[ -f "$tmp/extra-requests-$target" ]] && extra="$(paste -sd+ "$tmp/extra-requests-$target" | bc)"
    python3 "$here/report.py" audit "$target" "$tmp/$target" "$extra" "$tmp"/results/*-"$target"*.json "$tmp"/check-*-"$target".json
done

