// Hosts of the fleet that lost their last live node. A host is down when none of its
// nodes holds a live lease (etcd deleted their member keys when the leases expired, so
// this is etcd's own consensus, not one node's opinion). Exactly one node reports it: the
// one that takes the host's down key (create-if-absent, bound to its lease). That node
// journals `host_unreachable` (CRITICAL) once for the incident, and, when the host has a
// fence command, runs it once with the key's revision as fencing token, after reading
// from etcd that no node of the host holds a lease. When a node of the host is back it
// journals `host_reachable` and gives the key up. The host's peers are not escalated one
// by one: nodes elsewhere only watch them (host-rule.ts), and the host's own node is down.
import type { RemediationTarget } from "../act/executor.js";
import type { Logger } from "../core/logger.js";
import type { CommandSpec } from "../core/options.js";
import type { ActionResult } from "../core/types.js";
import type { FleetNode } from "./fleet-node.js";

export interface HostEvent {
  kind: "host_unreachable" | "host_reachable" | "fence";
  host: string;
  /** Stable across the fleet: `<host>@<down key revision>`. */
  incident: string;
  reason: string;
  result?: ActionResult;
}

export interface HostWatchOptions {
  fleet: FleetNode;
  /** Hosts watched even before a node of theirs was seen (configured hosts, peers' hosts). */
  hosts: readonly string[];
  fences: ReadonlyMap<string, CommandSpec>;
  runFence: (spec: CommandSpec, target: RemediationTarget, signal: AbortSignal) => Promise<ActionResult>;
  emit: (e: HostEvent) => void;
  /** Local check period, ms. */
  everyMs: number;
  /** A watched host never seen live counts as down only this long after this node joined, ms. */
  graceMs: number;
  logger: Logger;
  monoNow?: () => number;
}

export class HostWatch {
  private readonly seen = new Set<string>();
  private readonly down = new Map<string, { key: string; token: string; incident: string }>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private running: Promise<void> | undefined;
  private readonly abort = new AbortController();
  private validSince: number | undefined;
  private readonly mono: () => number;

  constructor(private readonly o: HostWatchOptions) {
    this.mono = o.monoNow ?? (() => performance.now());
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.once(), this.o.everyMs);
    this.timer.unref?.();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.abort.abort();
    await this.running;
  }

  /** Hosts this node reports unreachable now. */
  reported(): string[] {
    return [...this.down.keys()].sort();
  }

  once(): Promise<void> {
    this.running ??= this.check()
      .catch((err: unknown) => this.o.logger.warn({ err: String(err) }, "fleet: host check failed"))
      .finally(() => (this.running = undefined));
    return this.running;
  }

  private async check(): Promise<void> {
    const { fleet } = this.o;
    // Without a valid lease this node cannot tell a host down from itself cut off.
    if (!fleet.leaseValid()) {
      this.validSince = undefined;
      return;
    }
    this.validSince ??= this.mono();
    const live = new Set(fleet.members().map((m) => m.host));
    for (const h of live) this.seen.add(h);
    const candidates = new Set([...this.seen, ...this.o.hosts]);
    candidates.delete(fleet.host);
    for (const host of [...candidates].sort()) {
      if (this.abort.signal.aborted) return;
      const mine = this.down.get(host);
      if (live.has(host)) {
        if (mine) await this.reachable(host, mine);
        continue;
      }
      if (mine) continue;
      if (!this.seen.has(host) && this.mono() - this.validSince < this.o.graceMs) continue;
      if (fleet.hostDownBy(host)) continue; // another node reports it
      await this.unreachable(host);
    }
  }

  private async unreachable(host: string): Promise<void> {
    const { fleet } = this.o;
    const c = await fleet.claimHostDown(host);
    if (!c.ok) return;
    // etcd's own answer: no member key of the host, so no node there holds a lease.
    const there = await fleet.readMembersOn(host).catch(() => undefined);
    if (there === undefined || there.length > 0) {
      await fleet.finishStep(c.key, c.token);
      return;
    }
    const incident = `${host}@${c.token}`;
    this.down.set(host, { key: c.key, token: c.token, incident });
    this.o.emit({
      kind: "host_unreachable",
      host,
      incident,
      reason: `host ${host} is unreachable: no node on it holds a live etcd lease (its agents are not escalated one by one)`,
    });
    const fence = this.o.fences.get(host);
    if (!fence) return;
    const refused = await fleet.checkToken(c.key, c.token);
    const again = refused ? undefined : await fleet.readMembersOn(host).catch(() => undefined);
    if (refused || again === undefined || again.length > 0) {
      this.o.logger.warn({ host, refused, back: again?.map((m) => m.node) }, "fleet: fence not run");
      return;
    }
    const result = await this.o.runFence(
      fence,
      { peer: host, effectId: `fence-${incident}`, attempt: 0, fencingToken: c.token },
      this.abort.signal,
    );
    this.o.emit({
      kind: "fence",
      host,
      incident,
      reason: `fence of host ${host} ran with fencing token ${c.token}: ${result.ok ? "ok" : (result.error ?? "failed")}`,
      result,
    });
  }

  private async reachable(
    host: string,
    mine: { key: string; token: string; incident: string },
  ): Promise<void> {
    this.down.delete(host);
    this.o.emit({
      kind: "host_reachable",
      host,
      incident: mine.incident,
      reason: `host ${host} is reachable again: a node on it holds a live etcd lease`,
    });
    await this.o.fleet.finishStep(mine.key, mine.token);
  }
}
