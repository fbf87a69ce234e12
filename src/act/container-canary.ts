// Proof that a container's former address is really cut off: a TCP connection from this
// node to it. Any answer — accepted or refused (a RST comes from a live stack) — means
// the address still answers; a timeout or "unreachable" means nothing answers there.
// The same probe before the cut is the control: if the address did not answer even
// then, the canary after the cut proves nothing, and the result says so.
//
// The canary never leaves the machine: it connects only when the interface the kernel
// would route the address through (the one with the most specific subnet holding it) is
// loopback or a bridge whose every port is virtual (a container bridge: veth pairs, no
// network card). Any other address is not tried: before the cut, the canary proves
// nothing then; after it (a bridge is removed with its last container, and a wider
// subnet such as the LAN's may hold the address now), no local interface reaches it any
// more, which is itself the proof, and nothing is sent towards another machine.
import { existsSync, readdirSync } from "node:fs";
import { connect, isIPv4, isIPv6 } from "node:net";
import { networkInterfaces, type NetworkInterfaceInfo } from "node:os";

export type CanaryOutcome = "answered" | "silent";

export interface CanaryResult {
  outcome: CanaryOutcome;
  /** What was seen, e.g. "connected", "ECONNREFUSED", "timeout after 1500 ms", "EHOSTUNREACH". */
  seen: string;
}

/** Port tried when the peer's probe names none: 9 (discard), so a live stack answers with a RST. */
export const CANARY_FALLBACK_PORT = 9;

function bits(addr: string): { v: 4 | 6; n: bigint } | null {
  if (isIPv4(addr)) {
    return { v: 4, n: addr.split(".").reduce((acc, o) => (acc << 8n) | BigInt(Number(o)), 0n) };
  }
  if (isIPv6(addr)) {
    const [head = "", tail = ""] = addr.split("%")[0]?.split("::") ?? [];
    const h = head === "" ? [] : head.split(":");
    const t = tail === "" ? [] : tail.split(":");
    if (h.concat(t).some((g) => g.includes("."))) return null; // embedded IPv4: not a bridge address
    const groups = addr.includes("::")
      ? [...h, ...Array<string>(8 - h.length - t.length).fill("0"), ...t]
      : h;
    if (groups.length !== 8) return null;
    return { v: 6, n: groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g || "0", 16)), 0n) };
  }
  return null;
}

/** True when `name` is a bridge with no network card among its ports (a container bridge). */
export function isLocalBridge(name: string): boolean {
  const sys = `/sys/class/net/${name}`;
  if (!existsSync(`${sys}/bridge`)) return false;
  try {
    return readdirSync(`${sys}/brif`).every((port) => !existsSync(`/sys/class/net/${port}/device`));
  } catch {
    return false;
  }
}

/**
 * The interface this machine would reach `addr` through, when it is loopback or a
 * container bridge (e.g. "podman1 10.89.0.1/24"); null otherwise, or when no interface's
 * subnet holds it. The most specific subnet wins, as in the kernel's routing.
 */
export function localSubnetOf(
  addr: string,
  interfaces: NodeJS.Dict<NetworkInterfaceInfo[]> = networkInterfaces(),
  localBridge: (name: string) => boolean = isLocalBridge,
): string | null {
  const a = bits(addr);
  if (!a) return null;
  let best: { name: string; info: NetworkInterfaceInfo; prefix: number } | null = null;
  for (const [name, list] of Object.entries(interfaces)) {
    for (const i of list ?? []) {
      if (!i.cidr) continue;
      const b = bits(i.address);
      if (!b || b.v !== a.v) continue;
      const width = a.v === 4 ? 32 : 128;
      const prefix = Number(i.cidr.split("/")[1]);
      if (!Number.isInteger(prefix) || prefix <= 0 || prefix > width) continue;
      const shift = BigInt(width - prefix);
      if (a.n >> shift === b.n >> shift && (best === null || prefix > best.prefix)) {
        best = { name, info: i, prefix };
      }
    }
  }
  if (best === null) return null;
  return best.info.internal || localBridge(best.name) ? `${best.name} ${best.info.cidr}` : null;
}

/**
 * A canary to host:port, only when this machine reaches it through loopback or a
 * container bridge (localSubnetOf); otherwise "silent" without sending anything.
 */
export async function localCanary(host: string, port: number, timeoutMs: number): Promise<CanaryResult> {
  if (localSubnetOf(host) === null) {
    return {
      outcome: "silent",
      seen: "no loopback or container bridge of this machine is on its subnet (not tried)",
    };
  }
  return canaryConnect(host, port, timeoutMs);
}

/** One connection attempt to host:port within `timeoutMs`; never throws. */
export function canaryConnect(host: string, port: number, timeoutMs: number): Promise<CanaryResult> {
  return new Promise((resolve) => {
    let done = false;
    const s = connect({ host, port });
    const finish = (r: CanaryResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      resolve(r);
    };
    const timer = setTimeout(
      () => finish({ outcome: "silent", seen: `timeout after ${timeoutMs} ms` }),
      timeoutMs,
    );
    s.once("connect", () => finish({ outcome: "answered", seen: "connected" }));
    s.once("error", (e: NodeJS.ErrnoException) =>
      finish({
        outcome: e.code === "ECONNREFUSED" || e.code === "ECONNRESET" ? "answered" : "silent",
        seen: e.code ?? e.message,
      }),
    );
  });
}
