// The EffectRunner's side of the host's step ledger: who this process is in it, the
// ledger opened on first use (so a library user who never remediates never loads
// SQLite), and a step taken, refused or held, in the runner's terms.
import { randomUUID } from "node:crypto";
import { bootId } from "../ledger/boot.js";
import type { Clock } from "../core/clock.js";
import type { RemediationEffect } from "../core/ladder.js";
import type { Logger } from "../core/logger.js";
import type { PeerSpec } from "../core/options.js";
import { LEDGER_DEFAULTS } from "../core/defaults.js";
import type { ActionResult, EscalationAction } from "../core/types.js";
import { openSqliteLedger, type StepLedger } from "../ledger/sqlite-ledger.js";
import { NO_INCIDENT, stepKey, stepTimeoutMs } from "../ledger/step-key.js";
import type { FencedStep } from "./runner.js";

export interface StepFenceOptions {
  /** Directory of the ledger file. */
  dir: string;
  /** This node's name (the holder of its steps is "NAME pid P boot B"). */
  node: string;
  clock: Pick<Clock, "now" | "monotonic" | "sleep">;
  logger: Logger;
  /** Opens the ledger (tests pass another). Default: the SQLite ledger in `dir`. */
  open?: (o: {
    dir: string;
    clock: Pick<Clock, "now" | "monotonic" | "sleep">;
    holder: string;
  }) => StepLedger;
}

/** What a step claim answered, for the runner. */
export type Taken =
  | {
      ok: true;
      token: number;
      /** Monotonic ms (Clock.monotonic): past it the step must not start (others may take the peer by then). */
      deadline: number;
    }
  | {
      ok: false;
      /** The step's recorded result: never performed. */
      result: ActionResult;
      /** INFO: refused (someone else took it); HIGH: held (the ledger could not be used). */
      severity: "INFO" | "HIGH";
      /** Why, naming who took it. */
      reason: string;
    };

export class StepFence {
  /** Who takes this process's steps, as shown to a node refused because of one. */
  readonly holder: string;
  private ledger: StepLedger | undefined;
  private openError: string | undefined;

  constructor(private readonly o: StepFenceOptions) {
    this.holder = `${o.node} pid ${process.pid} boot ${bootId()}`;
  }

  /** The ledger, opened on first use (tried again on each use while it cannot be opened). */
  private get(): StepLedger | undefined {
    if (this.ledger) return this.ledger;
    try {
      const open = this.o.open ?? openSqliteLedger;
      this.ledger = open({ dir: this.o.dir, clock: this.o.clock, holder: this.holder });
      this.openError = undefined;
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      if (why !== this.openError) this.o.logger.error({ dir: this.o.dir, err: why }, "step ledger unusable");
      this.openError = why;
    }
    return this.ledger;
  }

  /** Who holds a step of `peer` in flight now ("restart#2 by wd1 pid 7 boot b"), or undefined. */
  inFlight(peer: string): string | undefined {
    const s = this.get()?.inFlight(peer);
    return s ? `${s.step} of incident ${s.incident} by ${s.holder}` : undefined;
  }

  /** Why the ledger cannot be used (a step now would be held). */
  trouble(): string {
    return `the step ledger in ${this.o.dir} cannot be used (${this.openError ?? "it could not be read"})`;
  }

  /** The peer's latest token in the ledger, read before gathering evidence; undefined when unreadable. */
  observe(peer: string): number | undefined {
    return this.get()?.observe(peer);
  }

  /** Takes the step `e` of `peer`, or says why it must not run. */
  async take(
    peer: string,
    spec: Pick<PeerSpec, "restart" | "isolate">,
    incident: string | null,
    e: RemediationEffect,
    seen: number | undefined,
    external: number | undefined,
    resume: boolean,
  ): Promise<Taken> {
    const ledger = this.get();
    if (!ledger) return held(this.trouble());
    const timeoutMs = stepTimeoutMs(spec, e);
    const asked = this.o.clock.monotonic();
    const answer = await ledger.claim({
      peer,
      incident: incident ?? NO_INCIDENT,
      step: stepKey(e),
      effectId: e.actionId,
      holder: this.holder,
      timeoutMs,
      seen,
      external,
      resume,
      force: e.kind === "release",
    });
    // The step was written with a deadline of (its take) + timeout; counted from the ask, to be safe.
    if (answer.granted) return { ok: true, token: answer.token, deadline: asked + timeoutMs };
    if (answer.rule === "unavailable") return held(answer.reason);
    return {
      ok: false,
      severity: "INFO",
      reason: answer.reason,
      result: { ok: false, fenced: true, error: `step fenced, not performed: ${answer.reason}` },
    };
  }

  /** Records the outcome of a step this node took (kept in flight until its deadline if it cannot be written). */
  async finish(
    peer: string,
    spec: Pick<PeerSpec, "restart" | "isolate">,
    e: RemediationEffect,
    result: ActionResult,
  ): Promise<void> {
    const ok = await this.get()?.finish(
      peer,
      e.actionId,
      result.ok ? "ok" : `failed: ${result.error ?? ""}`.slice(0, 500),
      stepTimeoutMs(spec, e),
    );
    if (ok === false)
      this.o.logger.warn(
        { peer, effect: e.kind },
        "step ledger: the outcome could not be recorded; the step blocks its peer until its timeout",
      );
  }

  /** Records that `incident` of `peer` ended (recovered, released); resolves when written or given up. */
  async endIncident(peer: string, incident: string, why: string, waitMs: number): Promise<void> {
    const ok = await this.get()?.endIncident(peer, incident, this.holder, why, waitMs);
    if (ok === false)
      this.o.logger.warn({ peer, incident }, "step ledger: the end of the incident could not be recorded");
  }

  /** Closes the file (opened again on next use). */
  close(): void {
    this.ledger?.close();
    this.ledger = undefined;
  }
}

function held(reason: string): Taken {
  return {
    ok: false,
    severity: "HIGH",
    reason,
    result: { ok: false, fenced: true, error: `step held, not performed: ${reason}` },
  };
}

/** Where the host's step ledger lives: the option, else WDMESH_LEDGER_DIR, else /run/wdmesh. */
export function ledgerDir(dir: string | undefined): string {
  const env = process.env["WDMESH_LEDGER_DIR"];
  return dir ?? (env !== undefined && env !== "" ? env : LEDGER_DEFAULTS.dir);
}

/** The journal entry of a step the ledger refused (INFO) or held (HIGH). */
export function fencedAction(
  f: FencedStep,
  node: string,
  now: number,
  newId: () => string = randomUUID,
): EscalationAction {
  const what =
    f.effect.kind === "restart" && f.effect.attempt > 0
      ? `restart attempt ${f.effect.attempt}`
      : f.effect.kind;
  return {
    timestamp: new Date(now).toISOString(),
    peer_name: f.peer,
    action: "step_fenced",
    reason:
      f.severity === "INFO"
        ? `${what} of ${f.peer} not performed: ${f.reason}`
        : `${what} of ${f.peer} held, not performed: ${f.reason}; check the ledger directory and the nodes of this host`,
    severity: f.severity,
    id: newId(),
    incident_id: f.incident,
    node,
  };
}
