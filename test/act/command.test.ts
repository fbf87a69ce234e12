import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { CommandExecutor } from "../../src/act/command.js";
import { createExecutor } from "../../src/act/default-executor.js";

const T = { peer: "shield", effectId: "e-42", attempt: 2 };
const sig = new AbortController().signal;
const node = (code: string): string[] => [process.execPath, "-e", code];
/** A restart by a command that runs `code` in node. */
const restartRunning = (code: string) =>
  new CommandExecutor().restart({ command: { argv: node(code) } }, T, sig);

describe("CommandExecutor (real processes)", () => {
  test("exit 0 is ok; the peer, effect id and attempt are in its environment", async () => {
    const r = await restartRunning(
      "if (process.env.WDMESH_PEER !== 'shield' || process.env.WDMESH_EFFECT_ID !== 'e-42' || process.env.WDMESH_ATTEMPT !== '2') process.exit(9)",
    );
    assert.equal(r.ok, true, r.error);
    assert.match(r.detail ?? "", /exit 0/);
  });

  test("non-zero exit: code and first stderr line, truncated", async () => {
    const r = await restartRunning(
      "console.error('\\nboom: ' + 'x'.repeat(500)); console.error('second'); process.exit(3)",
    );
    assert.equal(r.ok, false);
    assert.match(r.error ?? "", /exited with code 3: boom: x+…$/);
    const why = (r.error ?? "").split("exited with code 3: ")[1] ?? "";
    assert.ok(why.length <= 200, "first stderr line truncated to 200 characters");
    assert.doesNotMatch(why, /second/, "only the first stderr line");
  });

  test("killed at the deadline", async () => {
    const t0 = Date.now();
    const r = await new CommandExecutor().restart(
      { command: { argv: node("setTimeout(() => {}, 60000)"), timeout: "300ms" } },
      T,
      sig,
    );
    assert.equal(r.ok, false);
    assert.match(r.error ?? "", /did not finish within 300 ms and was killed/);
    assert.ok(Date.now() - t0 < 10_000);
  });

  test("a program that does not exist", async () => {
    const r = await new CommandExecutor().restart({ command: { argv: ["/nonexistent/restart-it"] } }, T, sig);
    assert.equal(r.ok, false);
    assert.match(r.error ?? "", /cannot run \/nonexistent\/restart-it: ENOENT/);
  });

  test("no shell: metacharacters are plain arguments", async () => {
    const r = await new CommandExecutor().restart(
      {
        command: {
          argv: [
            ...node("process.exit(process.argv[1] === '$(exit 7); echo hi' ? 0 : 5)"),
            "$(exit 7); echo hi",
          ],
        },
      },
      T,
      sig,
    );
    assert.equal(r.ok, true, r.error);
  });

  test("abort kills the command", async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const r = await new CommandExecutor().restart(
      { command: { argv: node("setTimeout(() => {}, 60000)") } },
      T,
      ac.signal,
    );
    assert.equal(r.ok, false);
    assert.match(r.error ?? "", /interrupted/);
  });

  test("isolate records what ran; release without a release command cannot undo it", async () => {
    const ex = new CommandExecutor();
    const iso = await ex.isolate({ command: { argv: node("") } }, T, sig);
    assert.equal(iso.result.ok, true);
    assert.equal(iso.record.method, "command");
    const rel = await ex.release({ command: { argv: node("") } }, iso.record, T, sig);
    assert.equal(rel.ok, false);
    assert.match(rel.error ?? "", /no isolate\.release command configured/);
    const rel2 = await ex.release(
      { command: { argv: node("") }, release: { argv: node("") } },
      iso.record,
      T,
      sig,
    );
    assert.equal(rel2.ok, true);
  });
});

describe("createExecutor dispatch", () => {
  test("command specs go to the command executor; unknown specs fail clearly", async () => {
    const ex = createExecutor();
    const r = await ex.restart({ command: { argv: node("process.exit(0)") } }, T, sig);
    assert.equal(r.ok, true);
    const bad = await ex.restart({} as never, T, sig);
    assert.equal(bad.ok, false);
    assert.match(bad.error ?? "", /has none of "systemd", "command", "container"/);
  });

  test("systemd specs go to systemctl (a missing systemctl is a failed result, not a throw)", async () => {
    const ex = createExecutor({ systemd: { systemctl: ["/nonexistent/systemctl"] } });
    const r = await ex.restart({ systemd: { unit: "a.service" } }, T, sig);
    assert.equal(r.ok, false);
    assert.match(r.error ?? "", /\/nonexistent\/systemctl not found/);
    const i = await ex.isolate({ systemd: { unit: "a.service", mode: "network" } }, T, sig);
    assert.equal(i.result.ok, false);
  });
});
