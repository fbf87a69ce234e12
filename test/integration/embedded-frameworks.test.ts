// The README's mounting examples, run as real processes: an Express app
// (examples/express/server.mjs) and a Fastify app (examples/fastify/server.mjs) that
// mount monitor.mesh.routes(), and a plain node:http agent in this process, form one mesh.
// Each answers its own route, the authenticated heartbeat and the signed view through
// its framework, sees the other two alive with fresh views, and exits cleanly on SIGTERM.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Monitor } from "../../src/index.js";
import { signViewRequest } from "../../src/mesh/view-auth.js";
import { VIEW_PROOF_HEADER } from "../../src/mesh/views.js";
import { verifyView } from "../../src/mesh/view-schema.js";
import { heartbeatProof } from "../../src/probe/heartbeat-proof.js";
import { haveBuiltCli } from "../helpers/built-cli.js";
import { freePort } from "../helpers/ports.js";
import { until } from "../helpers/wait.js";
import { tempDir } from "../helpers/tmp-dir.js";
import { membersSettled } from "../helpers/mesh-doc.js";

const KEY = "framework-mesh-key-0123456789";
const INTERVAL_MS = 300;
const example = (p: string) => fileURLToPath(new URL(`../../examples/${p}`, import.meta.url));

test("Express and Fastify agents mount the mesh routes and form a mesh with a node:http agent", async (t) => {
  // The examples import "watchdog-mesh", which resolves to this package's dist/.
  if (!haveBuiltCli(t)) return;
  const dir = tempDir(t, "wdmesh-frameworks-");
  const keyFile = join(dir, "mesh.key");
  writeFileSync(keyFile, `${KEY}\n`, { mode: 0o600 });
  const names = ["express-agent", "fastify-agent", "plain-agent"];
  const ports = await Promise.all(names.map(() => freePort()));
  const url = (i: number) => `http://127.0.0.1:${ports[i]}`;
  const membersOf = (i: number) => names.flatMap((n, j) => (j === i ? [] : [{ name: n, url: url(j) }]));
  const children: ChildProcess[] = [];
  let output = "";
  const run = (script: string, i: number) => {
    const c = spawn(process.execPath, [example(script)], {
      env: {
        ...process.env,
        NODE_NAME: names[i],
        PORT: String(ports[i]),
        MESH_KEY_FILE: keyFile,
        MEMBERS: JSON.stringify(membersOf(i)),
        INTERVAL: `${INTERVAL_MS}ms`,
        TIMEOUT: "250ms",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    c.stdout?.on("data", (d: Buffer) => (output += d.toString()));
    c.stderr?.on("data", (d: Buffer) => (output += d.toString()));
    children.push(c);
    return c;
  };
  const plain = new Monitor({
    selfName: names[2] as string,
    interval: INTERVAL_MS,
    timeout: 250,
    mesh: { key: KEY, members: membersOf(2) },
  });
  const server = createServer((req, res) => {
    if (!plain.mesh.routes(req, res)) res.writeHead(404).end();
  });
  try {
    await new Promise<void>((r) => server.listen(ports[2], "127.0.0.1", r));
    plain.start();
    const express = run("express/server.mjs", 0);
    const fastify = run("fastify/server.mjs", 1);

    /* eslint-disable-next-line @typescript-eslint/no-explicit-any -- test JSON */
    const getJson = async (u: string): Promise<any> => {
      const r = await fetch(u, { signal: AbortSignal.timeout(2_000) });
      if (!r.ok) throw new Error(`${u}: HTTP ${r.status}`);
      return r.json();
    };
    await until(
      "every agent to see the other two alive with fresh views",
      async () => {
        for (let i = 0; i < 3; i++) {
          try {
            const doc = await getJson(`${url(i)}/v1/mesh`);
            if (doc.node !== names[i] || !membersSettled(doc, 2, INTERVAL_MS)) return false;
          } catch {
            return false;
          }
        }
        return true;
      },
      30_000,
    ).catch((e: Error) => assert.fail(`${e.message}\n${output}`));

    for (const i of [0, 1]) {
      // The app's own route, through its framework.
      assert.deepEqual(await getJson(`${url(i)}/work`), { done: true, by: names[i] });
      // An unknown path is the framework's 404, not the mesh's.
      assert.equal((await fetch(`${url(i)}/nope`)).status, 404);
      // Heartbeat with proof.
      assert.deepEqual(await getJson(`${url(i)}/health?nonce=n-${i}`), {
        status: "ok",
        node: names[i],
        proof: heartbeatProof(KEY, names[i] as string, `n-${i}`),
      });
      // Signed view, for a member whose request is signed; nobody else.
      assert.equal((await fetch(`${url(i)}/v1/mesh/view?nonce=v-${i}`)).status, 401);
      const r = await fetch(`${url(i)}/v1/mesh/view?nonce=v-${i}`, {
        headers: signViewRequest({ key: KEY }, names[2] as string, names[i] as string, `v-${i}`, Date.now()),
      });
      assert.equal(r.status, 200);
      const v = verifyView(KEY, Buffer.from(await r.arrayBuffer()), r.headers.get(VIEW_PROOF_HEADER), {
        node: names[i] as string,
        nonce: `v-${i}`,
      });
      assert.ok(v.ok, JSON.stringify(v));
    }

    // SIGTERM: each stops its monitor and server and exits by itself (no timer left).
    for (const c of [express, fastify]) {
      const exited = new Promise<number | null>((r) => c.once("exit", (code) => r(code)));
      c.kill("SIGTERM");
      const code = await Promise.race([
        exited,
        new Promise<string>((r) => setTimeout(() => r("hung"), 10_000)),
      ]);
      assert.equal(code, 0, `exits cleanly on SIGTERM\n${output}`);
    }
  } finally {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
    await plain.stop();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
});
