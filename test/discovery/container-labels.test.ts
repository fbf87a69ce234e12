// A labelled container → the peer it is watched as.
import { test } from "node:test";
import assert from "node:assert/strict";
import { peerSpecFromLabels } from "../../src/discovery/container-labels.js";

const ctx = { engine: "podman" as const, socket: "/run/podman/podman.sock" };
const ref = { name: "api", engine: "podman", socket: "/run/podman/podman.sock" };

void test("only the watch label: container probe, restart and network isolation", () => {
  const r = peerSpecFromLabels({ id: "x", name: "api", labels: { "wdmesh.watch": "true" } }, ctx);
  assert.deepEqual(r, {
    ok: true,
    spec: {
      name: "api",
      probe: { container: { ...ref, discovered: true } },
      restart: { container: ref },
      isolate: { container: ref },
    },
  });
});

void test("labels override probe, methods and timing", () => {
  const r = peerSpecFromLabels(
    {
      id: "x",
      name: "api",
      labels: {
        "wdmesh.name": "api-1",
        "wdmesh.probe.http": "http://10.0.0.5:8080/health",
        "wdmesh.isolate": "none",
        "wdmesh.host_mode": "stop",
        "wdmesh.stop_timeout": "5s",
        "wdmesh.interval": "2s",
        "wdmesh.missed_before_restart": "4",
      },
    },
    ctx,
  );
  assert.ok(r.ok);
  assert.deepEqual(r.spec, {
    name: "api-1",
    probe: { http: { url: "http://10.0.0.5:8080/health" } },
    restart: { container: { ...ref, stopTimeout: "5s" } },
    isolate: "none",
    interval: "2s",
    missedBeforeRestart: 4,
  });
});

void test("a bad label is an error naming the container and the label", () => {
  const bad = (labels: Record<string, string>): string => {
    const r = peerSpecFromLabels({ id: "x", name: "api", labels }, ctx);
    return r.ok ? "accepted" : r.error;
  };
  assert.match(
    bad({ "wdmesh.restart": "reboot" }),
    /container api: label wdmesh.restart: must be container or none/,
  );
  assert.match(bad({ "wdmesh.probe.tcp": "nohost" }), /label wdmesh.probe.tcp: "nohost" is not HOST:PORT/);
  assert.match(bad({ "wdmesh.missed_before_restart": "many" }), /must be a whole number/);
  assert.match(bad({ "wdmesh.host_mode": "freeze" }), /must be pause or stop/);
});
