// Three Monitors on real loopback servers, each with its own (default) prober: once views
// flow, they come on one open stream per member (hardly any view requests), a member's
// heartbeat rides on its view (its /health is hardly asked), a member
// that stops answering is still a miss of the heartbeat's own, and a member whose view
// says it cannot record what it does is probed, so its /health 503 counts.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { IncomingMessage, ServerResponse } from "node:http";
import { Monitor } from "../../src/index.js";
import { closeServer, listen } from "../helpers/listen.js";
import { freePort } from "../helpers/ports.js";
import { until } from "../helpers/wait.js";

const KEY = "view-heartbeat-mesh-key-0123456789";
const NAMES = ["wd-a", "wd-b", "wd-c"];

/**
 * Three nodes, every one a member of the others; counts each node's /health and view
 * requests, and the views it wrote (one per answer, or one per line of a stream).
 */
async function threeNodes() {
  const ports = await Promise.all(NAMES.map(() => freePort()));
  const url = (i: number) => `http://127.0.0.1:${ports[i]}`;
  const counts = NAMES.map(() => ({ health: 0, view: 0, viewsWritten: 0 }));
  const monitors = NAMES.map(
    (name, i) =>
      new Monitor({
        selfName: name,
        interval: 500,
        timeout: 400,
        mesh: {
          key: KEY,
          members: NAMES.flatMap((n, j) => (j === i ? [] : [{ name: n, url: url(j) }])),
        },
      }),
  );
  const servers = await Promise.all(
    monitors.map((m, i) =>
      listen((req: IncomingMessage, res: ServerResponse) => {
        if (req.url?.startsWith("/health")) counts[i]!.health++;
        if (req.url?.startsWith("/v1/mesh/view")) {
          counts[i]!.view++;
          const write = res.write.bind(res) as (...a: unknown[]) => boolean;
          const end = res.end.bind(res) as (...a: unknown[]) => ServerResponse;
          (res as { write: unknown }).write = (...a: unknown[]) => {
            counts[i]!.viewsWritten++;
            return write(...a);
          };
          (res as { end: unknown }).end = (...a: unknown[]) => {
            if (a[0] !== undefined && typeof a[0] !== "function") counts[i]!.viewsWritten++;
            return end(...a);
          };
        }
        m.mesh.handler(req, res);
      }, ports[i]),
    ),
  );
  for (const m of monitors) m.start();
  const status = (i: number, member: string) => monitors[i]!.getPeerStatus(member);
  return {
    monitors,
    servers,
    counts,
    status,
    /** Every node sees every member HEALTHY with a fresh view. */
    async settled() {
      await until("every member HEALTHY with a fresh view on every node", () =>
        monitors.every((m) =>
          m.mesh.memberViews().every((v) => v.status === "HEALTHY" && v.view_age_ms !== null),
        ),
      );
    },
    async close() {
      await Promise.all(monitors.map((m) => m.stop()));
      await Promise.all(servers.map((s) => closeServer(s.server)));
    },
  };
}

test("once views flow, they stream and members' heartbeats ride on them: views are hardly asked for, /health hardly probed", async () => {
  const mesh = await threeNodes();
  try {
    await mesh.settled();
    const before = mesh.counts.map((c) => ({ ...c }));
    // Enough for every node to send each member about 8 views.
    await until("each node wrote 16 views more", () =>
      mesh.counts.every((c, i) => c.viewsWritten - before[i]!.viewsWritten >= 16),
    );
    for (const [i, c] of mesh.counts.entries()) {
      const views = c.viewsWritten - before[i]!.viewsWritten;
      const asked = c.view - before[i]!.view;
      const health = c.health - before[i]!.health;
      // Polled, every view is a request of its own; streamed, a request is only a new
      // stream (a member that joined, or a stream asked again).
      assert.ok(asked * 4 < views, `${NAMES[i]} was asked ${asked} times for ${views} views`);
      // Without the views answering them, each member's heartbeat asks /health as often
      // as a view arrives; with them only when a view comes later than the heartbeat's
      // short wait for it (on a loaded machine, up to about a third of them).
      assert.ok(health * 2 < views, `${NAMES[i]} answered ${health} heartbeats beside ${views} views`);
    }
    for (const m of mesh.monitors) assert.equal(m.mesh.poller?.streaming, 2);
    for (const [i] of NAMES.entries())
      for (const m of NAMES.filter((_, j) => j !== i)) assert.equal(mesh.status(i, m)?.status, "HEALTHY");
  } finally {
    await mesh.close();
  }
});

test("a member that stops answering is a miss of its heartbeat, with the heartbeat's reason", async () => {
  const mesh = await threeNodes();
  try {
    await mesh.settled();
    await closeServer(mesh.servers[2]!.server);
    await until("wd-a counts a miss of wd-c", () => (mesh.status(0, "wd-c")?.missed_count ?? 0) >= 2);
    const c = mesh.status(0, "wd-c");
    assert.notEqual(c?.status, "HEALTHY");
    assert.match(c?.last_error ?? "", /refused|ECONNREFUSED/i);
  } finally {
    await mesh.close();
  }
});

test("a member whose view says it cannot record what it does is probed: its /health 503 is a miss", async () => {
  const mesh = await threeNodes();
  try {
    await mesh.settled();
    // wd-b's store cannot commit: its /health answers 503 "degraded", its view says why.
    const b = mesh.monitors[1]!;
    b.healthProblem = () => "state store cannot commit (test)";
    await until("wd-a counts a miss of wd-b", () => (mesh.status(0, "wd-b")?.missed_count ?? 0) >= 2);
    assert.match(mesh.status(0, "wd-b")?.last_error ?? "", /503/);
    // wd-b still serves its view: wd-a's heartbeat is what sees the trouble.
    assert.ok(mesh.monitors[0]!.mesh.memberViews().find((v) => v.name === "wd-b")?.view_age_ms !== null);
  } finally {
    await mesh.close();
  }
});
