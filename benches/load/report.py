#!/usr/bin/env python3
"""Aggregates the load bench's oha JSON results (standard library only).

    report.py run FILE TARGET ROUND CPU_TICKS   one line for a finished run
    report.py summary RUNS_TSV                  medians and ratios per mode

RUNS_TSV lines: mode, target, round, CPU ticks of the proxy during the run
(-1 when the target has no proxy), path of oha's JSON output.
"""

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


def cmd_summary(tsv):
    # mode -> target -> round -> Run, in first-seen order.
    modes = {}
    with open(tsv) as f:
        for line in f:
            if not line.strip():
                continue
            mode, target, round_no, ticks, path = line.rstrip("\n").split("\t")
            modes.setdefault(mode, {}).setdefault(target, {})[round_no] = Run(
                path, int(ticks)
            )
    for mode, targets in modes.items():
        print(f"== {mode}: medians over rounds")
        print(
            f"{'target':<10} {'req/s':>9} {'p50 ms':>9} {'p99 ms':>9}"
            f" {'CPU s/1k req':>13} {'µs CPU/req':>11} {'rounds':>6} {'failed req':>10}"
        )
        med = {}
        for target, runs in targets.items():
            rs = list(runs.values())
            m = {
                "rps": median([r.rps for r in rs]),
                "p50": median([r.p50_ms for r in rs]),
                "p99": median([r.p99_ms for r in rs]),
                "cpu": median([r.cpu_per_1k for r in rs]),
            }
            med[target] = m
            failed = sum(sum(r.not_ok.values()) + sum(r.errors.values()) for r in rs)
            us = "-" if m["cpu"] is None else f"{m['cpu'] * 1000:.1f}"
            print(
                f"{target:<10} {m['rps']:>9.0f} {m['p50']:>9.3f} {m['p99']:>9.3f}"
                f" {fmt_cpu(m['cpu']):>13} {us:>11} {len(rs):>6} {failed:>10}"
            )
        pairs = [("clawgate", "direct"), ("clawgate", "mitmproxy")]
        pairs = [(a, b) for a, b in pairs if a in med and b in med]
        if pairs:
            print("ratios: of medians (median of per-round ratios in brackets)")
            for a, b in pairs:
                cells = []
                for key, attr in (("rps", "rps"), ("p50", "p50_ms"), ("p99", "p99_ms")):
                    per_round = [
                        ratio(getattr(run, attr), getattr(targets[b][k], attr))
                        for k, run in targets[a].items()
                        if k in targets[b]
                    ]
                    label = "req/s" if key == "rps" else key
                    cells.append(
                        f"{label} {fmt_ratio(ratio(med[a][key], med[b][key]))}"
                        f" [{fmt_ratio(median(per_round))}]"
                    )
                if b != "direct":
                    cells.append(f"CPU/req {fmt_ratio(ratio(med[a]['cpu'], med[b]['cpu']))}")
                print(f"  {a}/{b}: " + "  ".join(cells))
        print()


def main(argv):
    if len(argv) == 6 and argv[1] == "run":
        cmd_run(*argv[2:])
    elif len(argv) == 3 and argv[1] == "summary":
        cmd_summary(argv[2])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
