// Proof that a container's former address is really cut off: a TCP connection from this
// node to it. Any answer — accepted or refused (a RST comes from a live stack) — means
// the address still answers; a timeout or "unreachable" means nothing answers there.
// The same probe before the cut is the control: if the address did not answer even
// then, the canary after the cut proves nothing, and the result says so.
//
// The canary never leaves the machine: it connects only to an address on the subnet of
// one of this machine's own interfaces (a container bridge). An address on none of them
// is not tried: before the cut, the canary proves nothing then; after it (a bridge is
// removed with its last container), no interface of this machine reaches it any more,
// which is itself the proof, and nothing is sent towards a default route.
import { connect, isIPv4, isIPv6 } from "node:net";
import { networkInterfaces } from "node:os";

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

/** The local interface whose subnet holds `addr` (e.g. "podman1 10.89.0.1/24"), or null. */
export function localSubnetOf(addr: string): string | null {
  const a = bits(addr);
  if (!a) return null;
  for (const [name, list] of Object.entries(networkInterfaces())) {
    for (const i of list ?? []) {
      if (!i.cidr) continue;
      const b = bits(i.address);
      if (!b || b.v !== a.v) continue;
      const width = a.v === 4 ? 32 : 128;
      const prefix = Number(i.cidr.split("/")[1]);
      if (!Number.isInteger(prefix) || prefix <= 0) continue;
      const shift = BigInt(width - prefix);
      if (a.n >> shift === b.n >> shift) return `${name} ${i.cidr}`;
    }
  }
  return null;
}

/**
 * A canary to host:port, only when an interface of this machine is on its subnet;
 * otherwise "silent" without sending anything.
 */
export async function localCanary(host: string, port: number, timeoutMs: number): Promise<CanaryResult> {
  if (localSubnetOf(host) === null) {
    return { outcome: "silent", seen: "no interface of this machine is on its subnet (not tried)" };
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
