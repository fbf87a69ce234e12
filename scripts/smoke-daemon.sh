#!/usr/bin/env bash
# Smoke test of an installed wdmesh, as a user runs it: the `wdmesh` on PATH (a global
# install) validates a config, runs the daemon, probes a peer, restarts a peer by command
# through the API, and stops cleanly on SIGTERM. Usage: scripts/smoke-daemon.sh WORKDIR
# Exits non-zero with the daemon's log on any failure.
set -euo pipefail
work="$1"
mkdir -p "$work"
port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
token="smoke-token-0123456789abcdef"
cat >"$work/mesh.yaml" <<YAML
node:
  name: smoke
  listen: 127.0.0.1:$port
  data_dir: $work/data
  api_token: \${SMOKE_TOKEN}
defaults: { interval: 500ms, timeout: 300ms }
peers:
  - name: self
    probe: { http: { url: "http://127.0.0.1:$port/health" } }
    restart: { command: { argv: [/usr/bin/touch, $work/restarted] } }
    isolate: none
YAML
log="$work/run.log"
fail() { echo "smoke test FAILED on node $(node --version): $*" >&2; cat "$log" >&2 2>/dev/null || true; exit 1; }

wdmesh --version | grep -q '^wdmesh ' || fail "wdmesh --version"
SMOKE_TOKEN=$token wdmesh validate --config "$work/mesh.yaml" >/dev/null || fail "validate"
SMOKE_TOKEN=$token wdmesh run --config "$work/mesh.yaml" >"$log" 2>&1 &
pid=$!
for _ in $(seq 1 150); do
  if wdmesh status --url "http://127.0.0.1:$port" 2>/dev/null | grep -Eq '^self +HEALTHY'; then break; fi
  kill -0 "$pid" 2>/dev/null || fail "wdmesh run exited"
  sleep 0.2
done
wdmesh status --url "http://127.0.0.1:$port" | grep -Eq '^self +HEALTHY' || fail "the peer was not probed HEALTHY"
WDMESH_API_TOKEN=$token wdmesh restart self --url "http://127.0.0.1:$port" >/dev/null || fail "restart by command"
[ -e "$work/restarted" ] || fail "the restart command did not run"
kill -TERM "$pid"
code=0
wait "$pid" || code=$?
[ "$code" = 0 ] || fail "SIGTERM: exit code $code"
echo "smoke test passed on node $(node --version)"
