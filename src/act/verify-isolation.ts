// Proof that a unit's network is really cut: systemd's IPAddressDeny= is a cgroup eBPF
// program and fails OPEN where the kernel or the cgroup layout lacks cgroup BPF, so a
// property that reads back proves nothing by itself. And the isolated peer is usually
// broken already, so "a connection to it fails" proves nothing either.
//
// The canary: we open a TCP listener on 127.0.0.1, then start two short-lived node
// processes that try to connect to it:
//   1. a control canary, left in our own cgroup: it MUST connect (otherwise the test
//      itself is broken and proves nothing);
//   2. the canary proper, which first moves itself into the unit's cgroup (writes its PID
//      to <cgroup2 mount><ControlGroup>/cgroup.procs), then connects: it MUST fail, and
//      the listener must not have seen it.
// The BPF programs of IPAddressDeny= are attached to the unit's cgroup in the cgroup v2
// (unified) hierarchy: /sys/fs/cgroup on a pure v2 host, /sys/fs/cgroup/unified on a
// hybrid host (as on the machine this was built on: `stat -fc %T /sys/fs/cgroup` is
// tmpfs, /sys/fs/cgroup/unified is cgroup2). A pure cgroup v1 host has no cgroup BPF:
// no unified mount is found and verification fails, so the caller falls back to stop.
//
// Needs: root (to write cgroup.procs), the unit's cgroup on this machine (the watchdog
// runs where the unit runs), and the unit running (an inactive unit has no cgroup).
import { statfsSync, existsSync } from "node:fs";
import { createServer, type AddressInfo, type Server } from "node:net";
import { join } from "node:path";
import { runProcess, type ProcessRunner } from "./run-process.js";
import { ACTION_DEFAULTS } from "../core/defaults.js";

const CGROUP2_SUPER_MAGIC = 0x63677270;

/** The mount point of the cgroup v2 hierarchy, or null on a pure cgroup v1 host. */
export function findCgroup2Root(candidates = ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"]): string | null {
  for (const c of candidates) {
    try {
      if (statfsSync(c).type === CGROUP2_SUPER_MAGIC) return c;
    } catch {
      // not mounted here
    }
  }
  return null;
}

export interface CanaryVerdict {
  /** Traffic from inside the unit's cgroup is really blocked. */
  enforced: boolean;
  /** What was tried and seen, for the action's `detail` / `error`. */
  detail: string;
}

export interface CanaryOptions {
  /** The unit's ControlGroup as systemd reports it, e.g. "/system.slice/x.service". */
  controlGroup: string;
  /** cgroup v2 mount; default: found with findCgroup2Root(). */
  cgroupRoot?: string | null;
  /** How long the canary waits for its connection, ms. Default 1500. */
  connectTimeoutMs?: number;
  /** Deadline of each canary process, ms. Default 10 000. */
  processTimeoutMs?: number;
  run?: ProcessRunner;
  signal?: AbortSignal;
}

// Exit codes of the canary: 0 connected, 2 connect error, 3 no answer within the
// timeout, 4 could not join the cgroup.
const CANARY = `
const fs = require("node:fs"), net = require("node:net");
const [procs, port, ms] = process.argv.slice(1);
if (procs) { try { fs.writeFileSync(procs, String(process.pid)); } catch (e) { console.log("join " + e.code); process.exit(4); } }
const s = net.connect(Number(port), "127.0.0.1");
s.setTimeout(Number(ms));
s.on("connect", () => { console.log("connected"); process.exit(0); });
s.on("error", (e) => { console.log("error " + e.code); process.exit(2); });
s.on("timeout", () => { console.log("timeout"); process.exit(3); });
`;

function listen(): Promise<{ server: Server; port: number; accepted: () => number }> {
  return new Promise((resolve, reject) => {
    let n = 0;
    const server = createServer((sock) => {
      n++;
      sock.destroy();
    });
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      resolve({ server, port: (server.address() as AddressInfo).port, accepted: () => n });
    });
  });
}

/** Runs the control canary and the canary in the unit's cgroup; never throws. */
export async function verifyNetworkCut(opts: CanaryOptions): Promise<CanaryVerdict> {
  const root = opts.cgroupRoot === undefined ? findCgroup2Root() : opts.cgroupRoot;
  if (root === null) {
    return {
      enforced: false,
      detail:
        "no cgroup v2 (unified) hierarchy on this host, so cgroup eBPF (IPAddressDeny=) cannot be enforced",
    };
  }
  if (!opts.controlGroup || opts.controlGroup === "/") {
    return {
      enforced: false,
      detail: "the unit has no cgroup (it is not running), so the cut cannot be tested",
    };
  }
  const procs = join(root, opts.controlGroup, "cgroup.procs");
  if (!existsSync(procs)) {
    return {
      enforced: false,
      detail: `the unit's cgroup ${join(root, opts.controlGroup)} is not visible on this machine, so the cut cannot be tested`,
    };
  }
  const run = opts.run ?? runProcess;
  const connectMs = opts.connectTimeoutMs ?? ACTION_DEFAULTS.verifyConnectTimeoutMs;
  const timeoutMs = opts.processTimeoutMs ?? ACTION_DEFAULTS.verifyProcessTimeoutMs;
  let l: Awaited<ReturnType<typeof listen>>;
  try {
    l = await listen();
  } catch (err) {
    return { enforced: false, detail: `cannot open a loopback listener for the canary: ${String(err)}` };
  }
  try {
    const canary = (into: string) =>
      run([process.execPath, "-e", CANARY, into, String(l.port), String(connectMs)], {
        timeoutMs,
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
    const control = await canary("");
    if (control.code !== 0) {
      return {
        enforced: false,
        detail: `verification inconclusive: the control canary outside the unit could not connect to 127.0.0.1:${l.port} either (${control.stdout.trim() || control.stderr.trim() || `exit ${control.code}`})`,
      };
    }
    const before = l.accepted();
    const inside = await canary(procs);
    const said = inside.stdout.trim() || `exit ${inside.code}`;
    if (inside.code === 4) {
      return { enforced: false, detail: `the canary could not join ${procs} (${said})` };
    }
    if (inside.code === 0 || l.accepted() > before) {
      return {
        enforced: false,
        detail: `NOT enforced: a canary in cgroup ${opts.controlGroup} still connected to 127.0.0.1:${l.port}`,
      };
    }
    if (inside.code !== 2 && inside.code !== 3) {
      return { enforced: false, detail: `verification inconclusive: the canary ended with ${said}` };
    }
    return {
      enforced: true,
      detail: `verified: a canary in cgroup ${opts.controlGroup} could not connect to 127.0.0.1:${l.port} (${said}) while a control canary outside could`,
    };
  } finally {
    await new Promise<void>((r) => l.server.close(() => r()));
  }
}
