import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { SystemdExecutor } from "../../src/act/systemd.js";
import type { ProcessOutcome, ProcessRunner, RunOptions } from "../../src/act/run-process.js";
import type { CanaryOptions } from "../../src/act/verify-isolation.js";
import type { IsolationRecord } from "../../src/core/isolation.js";
import { systemdNetworkRecord } from "../helpers/isolation-record.js";

const T = { peer: "p", effectId: "e1", attempt: 1 };
const sig = new AbortController().signal;
const out = (o: Partial<ProcessOutcome>): ProcessOutcome => ({
  code: 0,
  signal: null,
  stdout: "",
  stderr: "",
  timedOut: false,
  aborted: false,
  durationMs: 1,
  ...o,
});

/** A fake systemctl: `script(args)` answers each call; every call is recorded. */
function fake(script: (args: string[]) => Partial<ProcessOutcome>) {
  const calls: string[][] = [];
  const opts: RunOptions[] = [];
  const run: ProcessRunner = async (argv, o) => {
    const args = argv.slice(1);
    calls.push(args);
    opts.push(o);
    return out(script(args));
  };
  return { run, calls, opts };
}

function showOf(values: Record<string, string>) {
  return (args: string[]): Partial<ProcessOutcome> => {
    const props = args.filter((_, i) => args[i - 1] === "-p");
    return { stdout: props.map((p) => `${p}=${values[p] ?? ""}`).join("\n") + "\n" };
  };
}

describe("SystemdExecutor.restart (fake systemctl)", () => {
  test("systemctl missing: a failed result naming the problem", async () => {
    const f = fake(() => ({ code: null, spawnError: { code: "ENOENT", message: "spawn systemctl ENOENT" } }));
    const r = await new SystemdExecutor({ run: f.run }).restart({ systemd: { unit: "a.service" } }, T, sig);
    assert.equal(r.ok, false);
    assert.match(r.error ?? "", /systemctl not found/);
  });

  test("no permission", async () => {
    const f = fake((a) =>
      a[0] === "show"
        ? showOf({ LoadState: "loaded", ActiveState: "active", MainPID: "5", NRestarts: "0" })(a)
        : { code: 4, stderr: "Failed to restart a.service: Access denied\n" },
    );
    const r = await new SystemdExecutor({ run: f.run }).restart({ systemd: { unit: "a.service" } }, T, sig);
    assert.equal(r.ok, false);
    assert.match(
      r.error ?? "",
      /no permission \(Failed to restart a\.service: Access denied\); run the watchdog as root/,
    );
  });

  test("systemd / D-Bus down", async () => {
    const f = fake(() => ({
      code: 1,
      stderr:
        "System has not been booted with systemd as init system (PID 1). Can't operate.\nFailed to connect to bus: Host is down\n",
    }));
    const r = await new SystemdExecutor({ run: f.run }).restart({ systemd: { unit: "a.service" } }, T, sig);
    assert.equal(r.ok, false);
    assert.match(r.error ?? "", /cannot reach systemd/);
  });

  test("unit not found (LoadState=not-found) stops before restarting", async () => {
    const f = fake(showOf({ LoadState: "not-found", ActiveState: "inactive", MainPID: "0", NRestarts: "0" }));
    const r = await new SystemdExecutor({ run: f.run }).restart({ systemd: { unit: "x.service" } }, T, sig);
    assert.equal(r.ok, false);
    assert.match(r.error ?? "", /unit x\.service not found/);
    assert.ok(!f.calls.some((c) => c[0] === "restart"));
  });

  test("a hanging restart: deadline from the spec, killed, reported", async () => {
    const f = fake((a) =>
      a[0] === "restart"
        ? { code: null, signal: "SIGKILL", timedOut: true }
        : showOf({ LoadState: "loaded", ActiveState: "active", MainPID: "5", NRestarts: "0" })(a),
    );
    const r = await new SystemdExecutor({ run: f.run }).restart(
      { systemd: { unit: "a.service", timeout: "2s" } },
      T,
      sig,
    );
    assert.equal(r.ok, false);
    assert.match(r.error ?? "", /systemctl restart a\.service did not finish within 2000 ms/);
    assert.deepEqual(
      f.opts.map((o) => o.timeoutMs),
      [2000, 2000],
    );
  });

  test("default deadline is 30 s per call", async () => {
    const f = fake(showOf({ LoadState: "loaded", ActiveState: "active", MainPID: "5", NRestarts: "0" }));
    await new SystemdExecutor({ run: f.run }).restart({ systemd: { unit: "a.service" } }, T, sig);
    assert.ok(f.opts.length >= 3 && f.opts.every((o) => o.timeoutMs === 30_000));
  });

  test("ok: new MainPID recorded; a self-restart by systemd since last seen is noticed", async () => {
    let state = {
      LoadState: "loaded",
      ActiveState: "active",
      SubState: "running",
      MainPID: "10",
      NRestarts: "0",
    };
    const f = fake((a) => {
      if (a[0] === "restart") {
        state = { ...state, MainPID: String(Number(state.MainPID) + 1) };
        return {};
      }
      return showOf(state)(a);
    });
    const ex = new SystemdExecutor({ run: f.run });
    const r1 = await ex.restart({ systemd: { unit: "a.service" } }, T, sig);
    assert.equal(r1.ok, true);
    assert.equal(r1.main_pid, 11);
    assert.doesNotMatch(r1.detail ?? "", /on its own/);
    state = { ...state, MainPID: "40", NRestarts: "2" }; // systemd's Restart= acted
    const r2 = await ex.restart({ systemd: { unit: "a.service" } }, T, sig);
    assert.equal(r2.main_pid, 41);
    assert.match(
      r2.detail ?? "",
      /already restarted a\.service on its own .*NRestarts 0 → 2, MainPID 11 → 40/,
    );
  });

  test("restarted but failed right away: ok false with a pointer to the journal", async () => {
    const f = fake(
      showOf({
        LoadState: "loaded",
        ActiveState: "failed",
        SubState: "failed",
        MainPID: "0",
        NRestarts: "0",
      }),
    );
    const r = await new SystemdExecutor({ run: f.run }).restart({ systemd: { unit: "a.service" } }, T, sig);
    assert.equal(r.ok, false);
    assert.match(r.error ?? "", /it is failed .*journalctl -u a\.service/);
  });

  test("bad unit names are refused before running anything", async () => {
    const f = fake(() => ({}));
    const ex = new SystemdExecutor({ run: f.run });
    for (const unit of ["", "--now", "a b.service", "../x"]) {
      const r = await ex.restart({ systemd: { unit } }, T, sig);
      assert.equal(r.ok, false, unit);
    }
    assert.equal(f.calls.length, 0);
  });

  test("the systemctl prefix is used for every call", async () => {
    const argvs: string[][] = [];
    const run: ProcessRunner = async (argv) => {
      argvs.push([...argv]);
      return out({ stdout: "LoadState=loaded\nActiveState=active\nMainPID=3\nNRestarts=0\n" });
    };
    await new SystemdExecutor({ run, systemctl: ["nsenter", "-t", "9", "-m", "-p", "systemctl"] }).restart(
      { systemd: { unit: "a.service" } },
      T,
      sig,
    );
    assert.ok(argvs.every((a) => a.slice(0, 6).join(" ") === "nsenter -t 9 -m -p systemctl"));
  });
});

describe("SystemdExecutor.isolate / release (fake systemctl)", () => {
  const base = {
    LoadState: "loaded",
    ActiveState: "active",
    ControlGroup: "/system.slice/a.service",
    IPAddressDeny: "",
    IPAddressAllow: "",
  };

  function world(opts: { enforce: boolean; readBack?: boolean }) {
    let props = { ...base };
    const f = fake((a) => {
      if (a[0] === "set-property") {
        for (const kv of a.slice(3)) {
          const [k, v] = kv.split("=") as [string, string];
          if (k === "IPAddressDeny" && opts.readBack !== false)
            props = { ...props, IPAddressDeny: v === "any" ? "0.0.0.0/0 ::/0" : v };
          if (k === "IPAddressAllow") props = { ...props, IPAddressAllow: v };
        }
        return {};
      }
      if (a[0] === "mask") {
        props = { ...props, LoadState: "masked" };
        return {};
      }
      if (a[0] === "show") return showOf(props)(a);
      return {};
    });
    const seen: CanaryOptions[] = [];
    const ex = new SystemdExecutor({
      run: f.run,
      verifyNetworkCut: async (o) => {
        seen.push(o);
        return opts.enforce
          ? { enforced: true, detail: "verified: canary blocked" }
          : { enforced: false, detail: "NOT enforced: canary connected" };
      },
    });
    return { ex, f, seen };
  }
  const spec = { systemd: { unit: "a.service", mode: "network" as const } };
  /** Releases a.service from the systemd isolation whose `applied` steps (and state) are given. */
  const releaseUnit = (ex: SystemdExecutor, rest: Omit<IsolationRecord, "method" | "unit">) =>
    ex.release(spec, { method: "systemd", unit: "a.service", ...rest }, T, sig);

  test("network, enforced: IPAddressDeny=any, verified in the unit's cgroup", async () => {
    const { ex, f, seen } = world({ enforce: true });
    const { result, record } = await ex.isolate(spec, T, sig);
    assert.equal(result.ok, true);
    assert.match(result.detail ?? "", /verified/);
    assert.deepEqual(record, systemdNetworkRecord("a.service"));
    assert.deepEqual(seen[0]?.controlGroup, "/system.slice/a.service");
    assert.ok(f.calls.some((c) => c.join(" ") === "set-property --runtime a.service IPAddressDeny=any"));
    assert.ok(!f.calls.some((c) => c[0] === "stop"));
  });

  test("network, NOT enforced: falls back to mask + stop and says so", async () => {
    const { ex, f } = world({ enforce: false });
    const { result, record } = await ex.isolate(spec, T, sig);
    assert.equal(result.ok, true);
    assert.match(result.detail ?? "", /not enforced: NOT enforced: canary connected; fell back to stop/);
    assert.deepEqual(record.applied, ["IPAddressDeny=any", "mask", "stop"]);
    const order = f.calls.map((c) => c[0]).filter((c) => c === "mask" || c === "stop");
    assert.deepEqual(order, ["mask", "stop"]);
  });

  test("network, property does not read back: no canary, fallback", async () => {
    const { ex, seen } = world({ enforce: true, readBack: false });
    const { result, record } = await ex.isolate(spec, T, sig);
    assert.match(result.detail ?? "", /reads back as "", not deny-any|reads back as ""/);
    assert.equal(seen.length, 0);
    assert.ok(record.applied.includes("stop"));
  });

  test("release undoes exactly the record, then starts", async () => {
    const { ex, f } = world({ enforce: false });
    const r = await releaseUnit(ex, { applied: ["IPAddressDeny=any", "mask", "stop"] });
    assert.equal(r.ok, true, r.error);
    const acts = f.calls.filter((c) => c[0] !== "show").map((c) => c.join(" "));
    assert.deepEqual(acts, [
      "unmask --runtime a.service",
      "set-property --runtime a.service IPAddressDeny=",
      "start a.service",
    ]);
  });

  test("release restores the previous IPAddressDeny/IPAddressAllow of the structured record", async () => {
    const { ex, f } = world({ enforce: true });
    await releaseUnit(ex, {
      applied: ["IPAddressAllow=", "IPAddressDeny=any"],
      systemd: {
        mode: "network",
        network: { previousDeny: "10.0.0.0/8", previousAllow: "127.0.0.0/8" },
        masked: false,
        stopped: false,
        frozen: false,
      },
    });
    assert.deepEqual(
      f.calls.filter((c) => c[0] !== "show").map((c) => c.join(" ")),
      [
        "set-property --runtime a.service IPAddressDeny= IPAddressDeny=10.0.0.0/8 IPAddressAllow=127.0.0.0/8",
        "start a.service",
      ],
    );
  });

  test("isolate records what the unit had before, and release puts it back", async () => {
    let set = false;
    const f = fake((a) => {
      if (a[0] === "set-property") set = true;
      if (a[0] !== "show") return { code: 0 };
      return showOf(
        set
          ? { ...base, IPAddressDeny: "0.0.0.0/0 ::/0" }
          : { ...base, IPAddressDeny: "10.0.0.0/8", IPAddressAllow: "127.0.0.0/8" },
      )(a);
    });
    const ex = new SystemdExecutor({
      run: f.run,
      verifyNetworkCut: async () => ({ enforced: true, detail: "verified" }),
    });
    const { record } = await ex.isolate(spec, T, sig);
    assert.deepEqual(record.systemd?.network, { previousDeny: "10.0.0.0/8", previousAllow: "127.0.0.0/8" });
    assert.deepEqual(record.applied, ["IPAddressAllow=", "IPAddressDeny=any"]);
  });

  // Records stored before the structured form (crash resume across an upgrade).
  test("release of a record stored with was: steps restores the previous values", async () => {
    const { ex, f } = world({ enforce: true });
    await releaseUnit(ex, {
      applied: [
        "IPAddressAllow=",
        "IPAddressDeny=any",
        "was:IPAddressAllow=127.0.0.0/8",
        "was:IPAddressDeny=10.0.0.0/8",
      ],
    });
    assert.ok(
      f.calls.some(
        (c) =>
          c.join(" ") ===
          "set-property --runtime a.service IPAddressDeny= IPAddressDeny=10.0.0.0/8 IPAddressAllow=127.0.0.0/8",
      ),
      JSON.stringify(f.calls),
    );
  });

  test("release failure is a failed result with every error", async () => {
    const f = fake((a) =>
      a[0] === "start" ? { code: 1, stderr: "Job for a.service failed.\n" } : showOf(base)(a),
    );
    const r = await new SystemdExecutor({ run: f.run }).release(
      spec,
      { method: "systemd", unit: "a.service", applied: ["IPAddressDeny=any"] },
      T,
      sig,
    );
    assert.equal(r.ok, false);
    assert.match(r.error ?? "", /systemctl start a\.service failed \(exit 1\): Job for a\.service failed\./);
  });

  test("freeze unsupported: a clear error, nothing recorded", async () => {
    const f = fake((a) =>
      a[0] === "freeze"
        ? {
            code: 1,
            stderr: "Failed to freeze unit a.service: Unit 'a.service' does not support freezing.\n",
          }
        : showOf(base)(a),
    );
    const { result, record } = await new SystemdExecutor({ run: f.run }).isolate(
      { systemd: { unit: "a.service", mode: "freeze" } },
      T,
      sig,
    );
    assert.equal(result.ok, false);
    assert.match(result.error ?? "", /systemctl freeze is not supported on this host/);
    assert.deepEqual(record.applied, []);
  });

  test("stop mode: mask --runtime then stop; a mask that does not take is reported", async () => {
    const f = fake(showOf({ ...base, LoadState: "loaded" }));
    const { result, record } = await new SystemdExecutor({ run: f.run }).isolate(
      { systemd: { unit: "a.service", mode: "stop" } },
      T,
      sig,
    );
    assert.equal(result.ok, true);
    assert.deepEqual(record.applied, ["mask", "stop"]);
    assert.match(result.detail ?? "", /mask --runtime had no effect/);
  });
});
