#!/bin/sh
# wdmesh watching a container through Docker or Podman: starts examples/containers/compose.yaml
# and a wdmesh node that discovers it by label. Needs root (the engine's socket is root on
# the host) and `docker compose` or `podman-compose`. Ctrl-C stops the node; then
# `docker compose -f examples/containers/compose.yaml down` removes the container.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
if [ -S /var/run/docker.sock ] && command -v docker >/dev/null 2>&1; then
  engine=docker socket=/var/run/docker.sock compose="docker compose"
elif [ -S /run/podman/podman.sock ] && command -v podman-compose >/dev/null 2>&1; then
  engine=podman socket=/run/podman/podman.sock compose="podman-compose"
else
  echo "No container engine found: neither /var/run/docker.sock (Docker, with docker compose)" >&2
  echo "nor /run/podman/podman.sock (Podman: systemctl enable --now podman.socket, with podman-compose)." >&2
  echo "Install one of them to run this demo; nothing was started." >&2
  exit 1
fi
if [ ! -w "$socket" ]; then
  echo "No permission on $socket: run this as root (access to the engine's socket is root on the host)." >&2
  exit 1
fi
dir=$(mktemp -d)
token=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
cat > "$dir/wdmesh.yaml" <<YAML
node: { name: demo, listen: "127.0.0.1:9760", data_dir: "$dir/data", api_token: "$token" }
defaults: { interval: 10s, timeout: 2s, missed_before_restart: 2, startup_grace: 3s }
peers_from:
  containers: { engine: $engine, socket: "$socket", label: "wdmesh.watch=true" }
YAML
$compose -f "$here/compose.yaml" up -d
echo "Watching containers labelled wdmesh.watch=true through $engine ($socket)."
echo "In another terminal:  WDMESH_API_TOKEN=$token wdmesh status"
echo "Break it:             $compose -f $here/compose.yaml exec web rm /usr/share/nginx/html/index.html"
echo "Put it back:          WDMESH_API_TOKEN=$token wdmesh release <the container's name>"
exec wdmesh run --config "$dir/wdmesh.yaml"
