// Container executor: restart, isolate and release a container through the Docker
// Engine API (Docker or Podman, engine/client.ts).
//   restart:  POST /containers/{id}/restart?t=STOP_TIMEOUT, then inspect: the result says
//             whether it came back running and its new start time.
//   isolate:  disconnect it from every network it is on (each network, its aliases and
//             addresses kept in the IsolationRecord), then verify: the engine reports no
//             network left AND a canary connection to each former address finds nothing
//             there (container-canary.ts). A container on the host's network (or
//             another container's) has nothing of its own to cut: it is paused or
//             stopped (isolate.container.host_mode), and the result says so. A cut that
//             cannot be verified falls back the same way.
//   release:  undoes exactly the record: unpause / start, then reconnect every network
//             that was disconnected, with its aliases (and its address when it was static).
// Nothing throws: every failure is an ActionResult naming the engine's failure (socket
// missing or refused, permission denied, container gone, timeout).
import {
  containerHostModeOf,
  containerRefOf,
  containerRestartDeadlineMs,
  containerSpecProblem,
  containerStopTimeoutMs,
  type ContainerIsolateSpec,
  type ContainerIsolation,
  type ContainerNetworkRecord,
  type ContainerRef,
} from "../core/container.js";
import { ACTION_DEFAULTS } from "../core/defaults.js";
import type { IsolateSpec, RestartSpec } from "../core/options.js";
import type { ActionResult } from "../core/types.js";
import { seg, type EngineClient, type EngineFailure } from "../engine/client.js";
import { clientFor, inspectContainer, sharesNetwork, type ContainerView } from "../engine/container-view.js";
import { CANARY_FALLBACK_PORT, localCanary, type CanaryResult } from "./container-canary.js";
import type { Executor, IsolateOutcome, IsolationRecord, RemediationTarget } from "./executor.js";

export interface ContainerExecutorOptions {
  /** How long a canary waits for its connection, ms. Default ACTION_DEFAULTS.verifyConnectTimeoutMs. */
  canaryTimeoutMs?: number;
}

const NONE: IsolationRecord = { method: "none", applied: [] };

/**
 * The container `spec` names and a client of its engine, or why it cannot be acted on
 * (not a container spec, or an invalid one) as the error to answer with.
 */
function opened<C extends ContainerRef>(
  spec: { container: C } | object,
  key: "restart" | "isolate",
): { c: C; client: EngineClient } | { error: string } {
  if (!("container" in spec)) return { error: `ContainerExecutor got a non-container ${key} spec` };
  const c = spec.container;
  if (!c || typeof c !== "object") return { error: `${key}.container must be a mapping with name or id` };
  const p = containerSpecProblem(c);
  if (p) return { error: `${key}.container.${p.field} ${p.message}` };
  return { c, client: clientFor(c) };
}

function label(v: ContainerView): string {
  return v.name || v.id.slice(0, 12);
}

export class ContainerExecutor implements Executor {
  private readonly canaryMs: number;

  constructor(opts: ContainerExecutorOptions = {}) {
    this.canaryMs = opts.canaryTimeoutMs ?? ACTION_DEFAULTS.verifyConnectTimeoutMs;
  }

  async restart(spec: RestartSpec, _target: RemediationTarget, signal: AbortSignal): Promise<ActionResult> {
    const t0 = Date.now();
    const done = (r: ActionResult): ActionResult => ({ ...r, duration_ms: Date.now() - t0 });
    const o = opened(spec, "restart");
    if ("error" in o) return done({ ok: false, error: o.error });
    const { c, client } = o;
    const ref = containerRefOf(c);
    const stopMs = containerStopTimeoutMs(c);
    const r = await client.request(
      "POST",
      `/containers/${seg(ref)}/restart?t=${Math.ceil(stopMs / 1000)}`,
      undefined,
      signal,
      containerRestartDeadlineMs(c),
    );
    if (!r.ok) return done({ ok: false, error: named(r, ref, client) });
    const after = await inspectContainer(client, ref, signal);
    if (!after.ok) return done({ ok: false, error: `restarted container ${ref}, but then: ${after.error}` });
    const v = after.body;
    const via = `POST /containers/${ref}/restart?t=${Math.ceil(stopMs / 1000)} (${client.opts.engine})`;
    if (!v.running) {
      return done({
        ok: false,
        error: `container ${label(v)} did not come back running after ${via}: ${v.status}, exit code ${v.exitCode}${v.error ? `, ${v.error}` : ""}`,
      });
    }
    return done({
      ok: true,
      detail: `${via}: running again, started at ${v.startedAt}`,
      ...(v.pid > 0 ? { main_pid: v.pid } : {}),
    });
  }

  async isolate(spec: IsolateSpec, target: RemediationTarget, signal: AbortSignal): Promise<IsolateOutcome> {
    const t0 = Date.now();
    const done = (result: ActionResult, record: IsolationRecord = NONE): IsolateOutcome => ({
      result: { ...result, duration_ms: Date.now() - t0 },
      record,
    });
    const o = opened(spec, "isolate");
    if ("error" in o) return done({ ok: false, error: o.error });
    const { c, client } = o;
    const ref = containerRefOf(c);
    const before = await inspectContainer(client, ref, signal);
    if (!before.ok) return done({ ok: false, error: before.error });
    const v = before.body;
    const rec: ContainerIsolation = {
      id: v.id,
      name: v.name,
      mode: "network",
      networks: [],
      paused: false,
      stopped: false,
    };
    const notes: string[] = [];

    if (sharesNetwork(v)) {
      notes.push(
        `container ${label(v)} shares the host's network (network mode ${v.networkMode}): nothing of its own to disconnect`,
      );
      return done(...(await this.hostMode(client, c, v, rec, notes, signal)));
    }
    if (v.networks.length === 0) {
      const mode = v.networkMode || "none";
      // Off the network its mode names: cut off already, by whom and from what is not known.
      if (mode !== "none") rec.networksUnknown = true;
      return done(
        {
          ok: true,
          detail: `container ${label(v)} is on no network (network mode ${mode}): already cut off${rec.networksUnknown ? "; the networks it was on are not known (an interrupted isolation, or a disconnect by hand), so release cannot give them back" : ""}`,
        },
        record(rec),
      );
    }

    const port = target.port ?? CANARY_FALLBACK_PORT;
    const addrs = v.networks.flatMap((n) => [n.ipv4, n.ipv6]).filter((a): a is string => !!a);
    const control = await Promise.all(addrs.map((a) => localCanary(a, port, this.canaryMs)));

    const errors: string[] = [];
    for (const n of v.networks) {
      const net: ContainerNetworkRecord = { ...n, disconnected: false };
      rec.networks.push(net);
      const r = await client.request(
        "POST",
        `/networks/${seg(n.network)}/disconnect`,
        { Container: v.id, Force: false },
        signal,
      );
      if (r.ok) {
        net.disconnected = true;
        notes.push(`disconnected from network ${n.network}${n.ipv4 ? ` (${n.ipv4})` : ""}`);
      } else errors.push(`disconnect from network ${n.network}: ${named(r, ref, client)}`);
    }

    // Verify: the engine's own account, then the canary at each former address.
    const after = await inspectContainer(client, v.id, signal);
    const left = after.ok ? after.body.networks.map((n) => n.network) : null;
    const canary = await Promise.all(addrs.map((a) => localCanary(a, port, this.canaryMs)));
    const verdict = verify(addrs, port, control, canary, left, after.ok ? undefined : after.error);
    notes.push(verdict.detail);
    if (errors.length === 0 && verdict.cut) {
      return done({ ok: true, detail: notes.join("; ") }, record(rec));
    }
    if (errors.length > 0) notes.push(...errors);
    notes.push("network cut not verified: falling back to host_mode");
    return done(...(await this.hostMode(client, c, v, rec, notes, signal)));
  }

  /** Pauses or stops the container (host_mode); says what took. */
  private async hostMode(
    client: EngineClient,
    c: ContainerIsolateSpec,
    v: ContainerView,
    rec: ContainerIsolation,
    notes: string[],
    signal: AbortSignal,
  ): Promise<[ActionResult, IsolationRecord]> {
    const mode = containerHostModeOf(c);
    rec.mode = mode;
    let r;
    if (mode === "pause") {
      r = await client.request("POST", `/containers/${seg(v.id)}/pause`, undefined, signal);
    } else {
      const stopMs = containerStopTimeoutMs(c);
      r = await client.request(
        "POST",
        `/containers/${seg(v.id)}/stop?t=${Math.ceil(stopMs / 1000)}`,
        undefined,
        signal,
        containerRestartDeadlineMs(c),
      );
    }
    if (!r.ok) {
      notes.push(`${mode} failed: ${named(r, label(v), client)}`);
      return [{ ok: false, error: notes.join("; ") }, record(rec)];
    }
    const after = await inspectContainer(client, v.id, signal);
    const took = after.ok && (mode === "pause" ? after.body.paused : !after.body.running);
    if (mode === "pause") rec.paused = took;
    else rec.stopped = took;
    if (!took) {
      notes.push(`${mode} did not take: the engine reports ${after.ok ? after.body.status : after.error}`);
      return [{ ok: false, error: notes.join("; ") }, record(rec)];
    }
    notes.push(
      mode === "pause"
        ? `paused container ${label(v)} (isolation by pause)`
        : `stopped container ${label(v)} (isolation by stop)`,
    );
    return [{ ok: true, detail: notes.join("; ") }, record(rec)];
  }

  async release(
    spec: IsolateSpec,
    stored: IsolationRecord | null,
    _target: RemediationTarget,
    signal: AbortSignal,
  ): Promise<ActionResult> {
    const t0 = Date.now();
    const done = (r: ActionResult): ActionResult => ({ ...r, duration_ms: Date.now() - t0 });
    const o = opened(spec, "isolate");
    if ("error" in o) return done({ ok: false, error: o.error });
    const { c, client } = o;
    const rec = stored?.method === "container" ? stored.container : undefined;
    const ref = rec?.id ?? containerRefOf(c);
    const now = await inspectContainer(client, ref, signal);
    if (!now.ok) return done({ ok: false, error: now.error });
    const v = now.body;
    const notes: string[] = [];
    const errors: string[] = [];
    // Back to running first: a paused or stopped container cannot take a network.
    if (v.paused && (rec === undefined || rec.paused)) {
      const r = await client.request("POST", `/containers/${seg(v.id)}/unpause`, undefined, signal);
      if (r.ok) notes.push(`unpaused container ${label(v)}`);
      else errors.push(`unpause: ${named(r, label(v), client)}`);
    }
    if (!v.running && (rec === undefined || rec.stopped)) {
      const r = await client.request("POST", `/containers/${seg(v.id)}/start`, undefined, signal);
      if (r.ok) notes.push(`started container ${label(v)}`);
      else errors.push(`start: ${named(r, label(v), client)}`);
    }
    if (rec === undefined) {
      errors.push(
        `no container isolation record, so the networks container ${label(v)} was on are not known: reconnect them by hand (docker network connect NETWORK ${label(v)})`,
      );
      return done({ ok: false, error: errors.join("; "), detail: notes.join("; ") });
    }
    if (rec.networksUnknown && v.networks.length === 0) {
      errors.push(
        `isolation found container ${label(v)} already off its networks (network mode ${v.networkMode || "none"}), so which to give back is not known: reconnect them by hand (docker network connect NETWORK ${label(v)}), then release again`,
      );
    }
    const on = new Set(v.networks.map((n) => n.network));
    for (const n of rec.networks) {
      if (!n.disconnected) continue;
      if (on.has(n.network)) {
        notes.push(`already on network ${n.network}`);
        continue;
      }
      const ipam = {
        ...(n.staticIpv4 ? { IPv4Address: n.staticIpv4 } : {}),
        ...(n.staticIpv6 ? { IPv6Address: n.staticIpv6 } : {}),
      };
      const endpoint = { Aliases: n.aliases, ...(Object.keys(ipam).length > 0 ? { IPAMConfig: ipam } : {}) };
      const r = await client.request(
        "POST",
        `/networks/${seg(n.network)}/connect`,
        { Container: v.id, EndpointConfig: endpoint },
        signal,
      );
      if (r.ok)
        notes.push(
          `reconnected to network ${n.network}${n.aliases.length > 0 ? ` with aliases ${n.aliases.join(", ")}` : ""}`,
        );
      else errors.push(`reconnect to network ${n.network}: ${named(r, label(v), client)}`);
    }
    const after = await inspectContainer(client, v.id, signal);
    if (after.ok) {
      const nets = new Set(after.body.networks.map((n) => n.network));
      const missing = rec.networks
        .filter((n) => n.disconnected && !nets.has(n.network))
        .map((n) => n.network);
      if (missing.length > 0)
        errors.push(`the engine reports container ${label(v)} still off network(s) ${missing.join(", ")}`);
      notes.push(
        `container ${label(v)} is ${after.body.status}${after.body.networks.length > 0 ? ` on ${[...nets].join(", ")}` : ""}`,
      );
    } else errors.push(after.error);
    const main = after.ok && after.body.pid > 0 ? { main_pid: after.body.pid } : {};
    if (errors.length > 0)
      return done({ ok: false, error: errors.join("; "), detail: notes.join("; "), ...main });
    if (notes.length === 0) notes.push("nothing to undo");
    return done({ ok: true, detail: notes.join("; "), ...main });
  }
}

function record(rec: ContainerIsolation): IsolationRecord {
  const applied = [
    ...rec.networks.filter((n) => n.disconnected).map((n) => `disconnect ${n.network}`),
    ...(rec.networksUnknown ? ["disconnect (networks not known)"] : []),
    ...(rec.paused ? ["pause"] : []),
    ...(rec.stopped ? ["stop"] : []),
  ];
  return { method: "container", unit: rec.name, applied, container: rec };
}

/** A failure of the engine, named for the container it was about. */
function named(r: EngineFailure, ref: string, client: EngineClient): string {
  if (r.code === "WDM_CONTAINER_GONE")
    return `container ${ref} (or its network) not found on the ${client.opts.engine} engine: ${r.error}`;
  return r.error;
}

function verify(
  addrs: string[],
  port: number,
  control: CanaryResult[],
  canary: CanaryResult[],
  left: string[] | null,
  inspectError: string | undefined,
): { cut: boolean; detail: string } {
  if (left === null)
    return { cut: false, detail: `cannot read the container back: ${inspectError ?? "unknown"}` };
  if (left.length > 0)
    return { cut: false, detail: `NOT cut: the engine still reports network(s) ${left.join(", ")}` };
  const parts: string[] = [];
  let cut = true;
  addrs.forEach((a, i) => {
    const before = control[i];
    const after = canary[i];
    if (!before || !after) return;
    if (after.outcome === "answered") {
      cut = false;
      parts.push(`NOT cut: ${a}:${port} still answers (${after.seen})`);
    } else if (before.outcome === "silent") {
      cut = false;
      parts.push(
        `canary inconclusive: ${a}:${port} did not answer before the cut either (${before.seen}), so its silence now proves nothing`,
      );
    } else {
      parts.push(
        `canary: ${a}:${port} answered before (${before.seen}), nothing answers now (${after.seen})`,
      );
    }
  });
  if (addrs.length === 0) parts.push("the container had no address to test");
  return { cut, detail: `${cut ? "verified: " : ""}the engine reports no network left; ${parts.join("; ")}` };
}
