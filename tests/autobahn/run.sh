#!/usr/bin/env bash
# Runs Autobahn|Testsuite's fuzzing server against klient's blocking WebSocket client
# (tests/src/bin/autobahn_client.rs, klient-blocking's WebSocket) and checks the verdicts.
#
# Sections 1-10 (framing, pings, reserved bits and opcodes, fragmentation, UTF-8, close handling,
# limits) run without compression, 12-13 (permessage-deflate) with it offered. A case passes when
# its behaviour is OK, or INFORMATIONAL/UNIMPLEMENTED where the suite itself says so; any FAILED
# or NON-STRICT verdict fails the run. Counts per section and behaviour are printed.
#
# Usage: tests/autobahn/run.sh [CASES]   CASES is a JSON list of case patterns for the spec, e.g.
#        '["12.*","13.*"]' for every compression case; the default is below.
# wstest comes from install.sh beside this script, which installs it once into ~/.cache/klient/autobahn
# (about a minute the first time; see that script).
# Environment: AUTOBAHN_WSTEST (a wstest installed some other way, instead of install.sh's),
# AUTOBAHN_HOME (install.sh's folder), AUTOBAHN_CLIENT (the echo client already built, as
# tests/tests/autobahn.rs passes it; else cargo builds it), CARGO_TARGET_DIR (as for cargo),
# AUTOBAHN_KEEP=1 keeps the reports (index.json and HTML).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# Sections 12 and 13 (216 cases) repeat 18 message sizes and fragmentations, 1000 messages each,
# for each of 12 compression settings; in full they take over an hour here. Every setting
# runs with sizes 16 B to 8 KiB (cases 1-6) and 8 KiB messages in 256 B fragments (case 11);
# 64 KiB messages (case 9) run for the default setting of each section, and 12.2.14 (64 KiB in
# 256 B fragments), which once caught a compressor bug.
deflate_cases=
for sub in 12.1 12.2 12.3 12.4 12.5 13.1 13.2 13.3 13.4 13.5 13.6 13.7; do
  for n in 1 2 3 4 5 6 11; do deflate_cases+="\"$sub.$n\","; done
done
deflate_cases+='"12.1.9","13.1.9","12.2.14"'
default_cases='["1.*","2.*","3.*","4.*","5.*","6.*","7.*","9.*","10.*",'"$deflate_cases"']'
cases=${1:-$default_cases}

# install.sh's wstest sets up its private Python 2.7 by itself; nothing leaks into this shell.
wstest=${AUTOBAHN_WSTEST:-}
[ -n "$wstest" ] || wstest=$("$here/install.sh") || { echo "run.sh: installing wstest failed (see above)" >&2; exit 1; }

client=${AUTOBAHN_CLIENT:-}
if [ -z "$client" ]; then
  echo "==> building the echo client" >&2
  (cd "$root" && cargo build -q -p klient-e2e --bin autobahn_client)
  client=${CARGO_TARGET_DIR:-$root/target}/debug/autobahn_client
fi
[ -x "$client" ] || { echo "run.sh: $client was not built" >&2; exit 1; }

work=$(mktemp -d -t klient-autobahn.XXXXXX)
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  if [ "${AUTOBAHN_KEEP:-0}" = 1 ]; then echo "reports kept in $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

# A free loopback port: bind to port 0 and read back what the kernel chose.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$work/spec.json" <<SPEC
{"url": "ws://127.0.0.1:$port", "outdir": "$work/reports", "cases": $cases,
 "exclude-cases": [], "exclude-agent-cases": {}}
SPEC
# --webport 0: no report web server, whose fixed port 8080 would keep two runs from coexisting.
(cd "$work" && exec "$wstest" -m fuzzingserver --webport 0 -s spec.json >"$work/server.log" 2>&1) &
server_pid=$!
for _ in $(seq 1 100); do
  if python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$port),1)" 2>/dev/null; then break; fi
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; echo "run.sh: wstest exited" >&2; exit 1; }
  sleep 0.2
done

echo "==> running the cases against ws://127.0.0.1:$port" >&2
start=$(date +%s)
ran=$("$client" "ws://127.0.0.1:$port" klient)
echo "==> cases ran in $(( $(date +%s) - start ))s" >&2

python3 - "$work/reports/index.json" "$ran" <<'PY'
import collections, json, sys
index = json.load(open(sys.argv[1]))["klient"]
# A case whose connection never opened has no verdict: that is a failure too.
if len(index) != int(sys.argv[2]):
    print("FAILED: %s cases ran but %d have verdicts" % (sys.argv[2], len(index)))
    sys.exit(1)
counts = collections.defaultdict(collections.Counter)
bad = []
for case, result in index.items():
    section = int(case.split(".")[0])
    behavior = result["behavior"]
    close = result.get("behaviorClose", "OK")
    counts[section][behavior] += 1
    # INFORMATIONAL and UNIMPLEMENTED are verdicts the suite gives by itself; anything else
    # but OK, for the case or its closing, is a failure.
    if behavior not in ("OK", "INFORMATIONAL", "UNIMPLEMENTED") or close not in ("OK", "INFORMATIONAL"):
        bad.append((case, behavior, close))
for section in sorted(counts):
    print("section %2d: %s" % (section, ", ".join("%s %d" % kv for kv in sorted(counts[section].items()))))
print("total: %d cases" % sum(sum(c.values()) for c in counts.values()))
key = lambda c: [int(x) for x in c[0].split(".")]
for case, behavior, close in sorted(bad, key=key):
    print("FAILED case %s: behavior %s, close %s" % (case, behavior, close))
sys.exit(1 if bad else 0)
PY
