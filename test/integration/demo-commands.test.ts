// What the demo tells the user to type works as printed, from a checkout where `wdmesh`
// is not on PATH: each "Try, in another terminal" line is run by a real shell.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { dirname } from "node:path";
import { CLI, haveBuiltCli } from "../helpers/built-cli.js";
import { freePort } from "../helpers/ports.js";
import { until } from "../helpers/wait.js";

/** Runs `line` in sh; stops it after `stopAfter` matches its output (for --follow). */
function shell(
  line: string,
  env: NodeJS.ProcessEnv,
  stopAfter?: RegExp,
): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn("sh", ["-c", line], { env, stdio: ["ignore", "pipe", "pipe"], detached: true });
    let out = "";
    const timer = setTimeout(() => process.kill(-(p.pid as number), "SIGKILL"), 30_000);
    const onData = (d: Buffer): void => {
      out += d.toString();
      if (stopAfter?.test(out)) process.kill(-(p.pid as number), "SIGINT");
    };
    p.stdout.on("data", onData);
    p.stderr.on("data", onData);
    p.on("error", reject);
    p.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

/** Peer names of a status table (rows start with a name, then a status word). */
function names(text: string): string[] {
  return [...text.matchAll(/^(\S+)\s+(?:HEALTHY|DEGRADED|OFFLINE|ISOLATED|UNKNOWN)\b/gm)]
    .map((m) => m[1] as string)
    .sort();
}

test("the commands the demo prints work as printed from a checkout", { timeout: 120_000 }, async (t) => {
  if (!haveBuiltCli(t)) return;
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [CLI, "demo", "--listen", `127.0.0.1:${port}`, "--chaos-every", "0", "--status-every", "1m"],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.once("exit", r));
  let statusNames: string[] = [];
  try {
    await until(
      "the demo's hints",
      () => /Try, in another terminal:\n(.+\n)+\n/.test(out) || child.exitCode !== null,
      60_000,
    );
    const block = /Try, in another terminal:\n((?:.+\n)+)\n/.exec(out)?.[1] ?? "";
    const lines = block
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l !== "");
    assert.equal(lines.length, 3, out);
    // A user's PATH without wdmesh on it (node stays reachable for the script's shebang).
    const env: NodeJS.ProcessEnv = {
      PATH: `${dirname(process.execPath)}:/usr/bin:/bin`,
      HOME: process.env.HOME,
    };
    assert.notEqual((await shell("command -v wdmesh", env)).code, 0, "wdmesh is not on this PATH");
    // Wait until shield is isolated, so the release the demo suggests has something to do.
    await until("shield isolated", () => /CRITICAL isolate\s+shield/.test(out), 90_000);

    const [status, events, release] = lines as [string, string, string];
    const s = await shell(status, env);
    assert.equal(s.code, 3, `${status}\n${s.out}`); // exit 3: a peer is not HEALTHY (shield)
    assert.match(s.out, /shield\s+ISOLATED/);
    assert.match(s.out, /^members: wd-b /m, "status lists the mesh member as the demo's table does");
    statusNames = names(s.out);
    const e = await shell(events, env, /isolate\s+shield/);
    assert.match(e.out, /^#1 /m, `${events}\n${e.out}`);
    const r = await shell(release, env);
    assert.equal(r.code, 0, `${release}\n${r.out}`);
    assert.match(r.out, /release/);
  } finally {
    if (child.exitCode === null) child.kill("SIGTERM");
  }
  assert.equal(await exited, 0, out);
  // The demo's own table and `wdmesh status` list the same peers and the same member line.
  const final = out.slice(out.lastIndexOf("final state:"));
  assert.deepEqual(names(final), statusNames);
  assert.match(final, /^members: wd-b /m);
});
