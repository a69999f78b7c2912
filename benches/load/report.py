#!/usr/bin/env python3
"""Aggregates the load bench's oha JSON results (standard library only).

    report.py run FILE TARGET ROUND CPU_TICKS   one line for a finished run
    report.py summary RUNS_TSV                  medians, ratios and goals per scenario
    report.py audit TARGET AUDIT_DIR EXTRA FILE...  audit records (audit.jsonl*) against responses

RUNS_TSV lines: scenario, target, round, CPU ticks of the proxy during the run
(-1 when the target has no proxy), path of oha's JSON output.
"""

import glob
import json
import os
import statistics
import sys

TICKS_PER_S = os.sysconf("SC_CLK_TCK")
# oha counts requests cut off when -z runs out as errors; they are not failures.
BENIGN_ERRORS = {"aborted due to deadline"}


class Run:
    """One oha run, reduced to what the report quotes."""

    def __init__(self, path, cpu_ticks):
        with open(path) as f:
            data = json.load(f)
        self.seconds = data["summary"]["total"]
        codes = data.get("statusCodeDistribution") or {}
        self.ok = sum(n for code, n in codes.items() if code.startswith("2"))
        self.not_ok = {code: n for code, n in codes.items() if not code.startswith("2")}
        errors = data.get("errorDistribution") or {}
        self.errors = {e: n for e, n in errors.items() if e not in BENIGN_ERRORS}
        self.rps = self.ok / self.seconds if self.seconds > 0 else 0.0
        pct = data.get("latencyPercentiles") or {}
        self.p50_ms = (pct.get("p50") or 0.0) * 1000
        self.p99_ms = (pct.get("p99") or 0.0) * 1000
        # Proxy CPU seconds per 1000 successful requests.
        if cpu_ticks < 0 or self.ok == 0:
            self.cpu_per_1k = None
        else:
            self.cpu_per_1k = cpu_ticks / TICKS_PER_S / self.ok * 1000

    def problems(self):
        """Non-2xx statuses and real errors, as one string ('' if none)."""
        parts = [f"HTTP {code}: {n}" for code, n in sorted(self.not_ok.items())]
        parts += [f"{err}: {n}" for err, n in sorted(self.errors.items())]
        return "; ".join(parts)


def fmt_cpu(value):
    return "-" if value is None else f"{value:.3f}"


def cmd_run(path, target, round_no, cpu_ticks):
    run = Run(path, int(cpu_ticks))
    line = (
        f"  round {round_no} {target:<10} {run.rps:>9.0f} req/s"
        f"  p50 {run.p50_ms:7.3f} ms  p99 {run.p99_ms:7.3f} ms"
        f"  proxy CPU s/1k req {fmt_cpu(run.cpu_per_1k)}"
    )
    problems = run.problems()
    if problems:
        line += f"  !! {problems}"
    print(line, flush=True)


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def fmt_ratio(value):
    return "-" if value is None else f"{value:.3f}"


# What each scenario is, for the summary's headings.
SCENARIOS = {
    "ka16": "keep-alive 1 KiB GETs, 16 connections",
    "ka1": "keep-alive 1 KiB GETs, 1 connection",
    "mib": "1 MiB GETs, 4 connections",
    "newconn": "new connection per request, 8 connections",
    "aws": "AWS path: S3 ListObjects, facets + CEL + cached role + SigV4 re-sign, 16 connections",
    "h2": "HTTP/2 in the tunnel, 4 connections x 4 streams",
}
# The gateways measured against the peers (`before` is an earlier clawgate).
GATEWAYS = ("clawgate", "before")


def load(tsv):
    """scenario -> target -> round -> Run, in first-seen order."""
    scenarios = {}
    with open(tsv) as f:
        for line in f:
            if not line.strip():
                continue
            scenario, target, round_no, ticks, path = line.rstrip("\n").split("\t")
            scenarios.setdefault(scenario, {}).setdefault(target, {})[round_no] = Run(path, int(ticks))
    return scenarios


def medians(runs):
    rs = list(runs.values())
    return {
        "rps": median([r.rps for r in rs]),
        "p50": median([r.p50_ms for r in rs]),
        "p99": median([r.p99_ms for r in rs]),
        "cpu": median([r.cpu_per_1k for r in rs]),
    }


def round_ratio(targets, a, b, attr):
    """Median over rounds of a's value over b's in the same round."""
    return median(
        [ratio(getattr(run, attr), getattr(targets[b][k], attr)) for k, run in targets[a].items() if k in targets[b]]
    )


def cmd_summary(tsv):
    scenarios = load(tsv)
    med = {s: {t: medians(runs) for t, runs in targets.items()} for s, targets in scenarios.items()}
    for scenario, targets in scenarios.items():
        print(f"== {scenario}: {SCENARIOS.get(scenario, scenario)}; medians over rounds")
        print(
            f"{'target':<10} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'µs CPU/req':>11}"
            f" {'req/s÷direct':>13} {'req/s÷noop':>11} {'CPU÷noop':>9} {'failed':>7}"
        )
        m = med[scenario]
        for target, runs in targets.items():
            t = m[target]
            failed = sum(sum(r.not_ok.values()) + sum(r.errors.values()) for r in runs.values())
            us = "-" if t["cpu"] is None else f"{t['cpu'] * 1000:.1f}"
            to_direct = round_ratio(targets, target, "direct", "rps") if "direct" in targets and target != "direct" else None
            to_noop = round_ratio(targets, target, "noop", "rps") if "noop" in targets and target != "noop" else None
            cpu_noop = ratio(t["cpu"], m["noop"]["cpu"]) if "noop" in m and target != "noop" else None
            print(
                f"{target:<10} {t['rps']:>9.0f} {t['p50']:>8.3f} {t['p99']:>8.3f} {us:>11}"
                f" {fmt_ratio(to_direct):>13} {fmt_ratio(to_noop):>11} {fmt_ratio(cpu_noop):>9} {failed:>7}"
            )
        print()
    goals(scenarios, med)


def goals(scenarios, med):
    """The issue's goals, as measured in this run (for notes; nothing is asserted)."""
    lines = []
    for gw in GATEWAYS:
        def have(scenario, *targets):
            return scenario in med and all(t in med[scenario] for t in (gw, *targets))

        if have("ka16", "noop"):
            rps = round_ratio(scenarios["ka16"], gw, "noop", "rps")
            cpu = ratio(med["ka16"][gw]["cpu"], med["ka16"]["noop"]["cpu"])
            lines.append(f"{gw}: ka16 req/s {fmt_ratio(rps)}x the no-op MITM's (goal >= 1.4), CPU/req {fmt_ratio(cpu)}x (goal <= 0.7)")
        if have("ka1", "direct"):
            added = (med["ka1"][gw]["p50"] - med["ka1"]["direct"]["p50"]) * 1000
            lines.append(f"{gw}: ka1 p50 {added:.0f} µs over direct (goal <= 60)")
        if have("mib", "direct"):
            lines.append(f"{gw}: mib {100 * round_ratio(scenarios['mib'], gw, 'direct', 'rps'):.0f} % of direct's req/s (goal >= 90)")
        if have("newconn", "direct"):
            lines.append(f"{gw}: newconn {100 * round_ratio(scenarios['newconn'], gw, 'direct', 'rps'):.0f} % of direct's req/s (goal: direct's rate)")
        if have("aws") and have("ka16"):
            cpu = ratio(med["aws"][gw]["cpu"], med["ka16"][gw]["cpu"])
            lines.append(f"{gw}: aws CPU/req {fmt_ratio(cpu)}x its https path's (ka16; goal <= 1.3)")
    if lines:
        print("== goals")
        for line in lines:
            print(f"  {line}")
        print()


def cmd_audit(target, audit_dir, extra, paths):
    """Whether the gateway wrote one record per request: its records against
    the 2xx responses in oha's FILEs plus EXTRA requests made by other means;
    requests oha cut off at its deadline may have been answered too."""
    records = 0
    for log in glob.glob(os.path.join(audit_dir, "audit.jsonl*")):
        with open(log) as f:
            records += sum(1 for line in f if line.strip())
    answered, cut_off = int(extra), 0
    for path in paths:
        with open(path) as f:
            data = json.load(f)
        codes = data.get("statusCodeDistribution") or {}
        answered += sum(n for code, n in codes.items() if code.startswith("2"))
        cut_off += sum(n for e, n in (data.get("errorDistribution") or {}).items() if e in BENIGN_ERRORS)
    verdict = "one record per request" if answered <= records <= answered + cut_off else "!! MISMATCH"
    print(
        f"audit {target}: {records} records for {answered} answered requests"
        f" (+ up to {cut_off} cut off by oha's deadline): {verdict}"
    )


def main(argv):
    if len(argv) == 6 and argv[1] == "run":
        cmd_run(*argv[2:])
    elif len(argv) == 3 and argv[1] == "summary":
        cmd_summary(argv[2])
    elif len(argv) >= 5 and argv[1] == "audit":
        cmd_audit(argv[2], argv[3], argv[4], argv[5:])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
