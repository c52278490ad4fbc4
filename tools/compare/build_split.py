#!/usr/bin/env python3
"""Splits two `cargo build --timings` reports into what both builds compile and what each adds.

    build_split.py KLIENT_REPORT.html KLIENT_BIN KUBE_REPORT.html KUBE_BIN

A report's units are crates (and build scripts) with the seconds rustc spent on each. On a small
machine a clean build is bound by the sum of those seconds, so the sum is what this splits:

- shared: every unit that both builds compile (k8s-openapi, rustls, ring, tokio, serde...);
- each program's own binary (mostly serde decoding the Pod tree, which both programs compile);
- each client's own libraries: every other unit.

It then prints the best ratio klient could reach if its own libraries cost nothing: the floor that
the shared crates and the program set, whatever klient does.
"""

import json
import re
import sys


def units(report_path):
    """Seconds per (crate, target) in one `cargo build --timings` HTML report."""
    with open(report_path, encoding="utf-8") as report:
        text = report.read()
    found = re.search(r"const UNIT_DATA = (\[.*?\]);\n", text, re.S)
    if found is None:
        sys.exit(f"{report_path}: no UNIT_DATA in this report (has cargo's format changed?)")
    seconds = {}
    for unit in json.loads(found.group(1)):
        key = (unit["name"], unit.get("target", "").strip())
        seconds[key] = seconds.get(key, 0.0) + unit["duration"]
    return seconds


def split(seconds, other, binary):
    """(shared, program, own libraries, the three largest own libraries) of one build."""
    shared = sum(s for key, s in seconds.items() if key in other)
    program = sum(s for key, s in seconds.items() if key not in other and key[0] == binary)
    own = {}
    for (crate, target), s in seconds.items():
        if (crate, target) not in other and crate != binary:
            own[crate] = own.get(crate, 0.0) + s
    largest = sorted(own.items(), key=lambda item: -item[1])[:3]
    return shared, program, sum(own.values()), largest


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    klient_report, klient_bin, kube_report, kube_bin = sys.argv[1:]
    klient, kube = units(klient_report), units(kube_report)
    rows = [("klient-tokio", split(klient, kube, klient_bin)), ("kube", split(kube, klient, kube_bin))]
    print(f"{'build':14} {'total':>7} {'shared':>7} {'program':>8} {'libraries':>10}  largest libraries")
    for name, (shared, program, own, largest) in rows:
        total = shared + program + own
        top = ", ".join(f"{crate} {s:.1f}" for crate, s in largest)
        print(f"{name:14} {total:7.1f} {shared:7.1f} {program:8.1f} {own:10.1f}  {top}")
    (shared, program, own, _), kube_total = rows[0][1], sum(kube.values())
    print(f"compiler seconds, klient-tokio/kube: {(shared + program + own) / kube_total:.2f}")
    print(f"the same if klient's own libraries cost nothing: {(shared + program) / kube_total:.2f}")


if __name__ == "__main__":
    main()
