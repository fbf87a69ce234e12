// Crash resume: the remediation effects a previous run of this node committed but never
// finished (it crashed or was stopped in between). Each gets an outcome once, and only
// what is safe to repeat runs again; kept apart from the Monitor so each rule can be
// tested with a fake store and executor.
import type { RemediationEffect } from "../core/ladder.js";
import type { Logger } from "../core/logger.js";
import type { ActionResult } from "../core/types.js";
import type { MonitorStore } from "../store/types.js";
import type { RemediatedPeer } from "./runner.js";
import type { StepLog } from "./step-log.js";

export interface ResumeDeps<P extends RemediatedPeer> {
  store: Pick<MonitorStore, "pendingEffects" | "recordEffectResult">;
  /** The registered peer of that name; undefined when it is no longer watched. */
  peer(name: string): P | undefined;
  /** A restart that was interrupted is listed here as finished (the mesh keeps seeing it). */
  steps: StepLog;
  /** Epoch ms. */
  now(): number;
  logger: Logger;
  /** Runs `e` again for `p` (under the peer's lock, through the EffectRunner); its result. */
  rerun(name: string, p: P, e: RemediationEffect): Promise<ActionResult>;
}

/**
 * Why an interrupted release must not be completed now (its result), or null when it
 * still undoes exactly the isolation it was issued against (`against`, an isolate
 * effect id; null when the peer was not isolated when it was released).
 */
export function staleRelease(p: RemediatedPeer, against: string | null): ActionResult | null {
  if (against === null) {
    return {
      ok: true,
      detail: "interrupted; the peer was not isolated when it was released, so nothing to undo",
    };
  }
  if (p.state.status !== "ISOLATED" && p.isolationId === null && p.isolation === null) {
    return { ok: true, detail: "interrupted; no isolation record remains, so nothing to undo" };
  }
  if (p.state.status === "ISOLATED" || p.isolationId !== against) {
    return {
      ok: false,
      error:
        "interrupted and not replayed: the peer's isolation is no longer the one this release was issued against" +
        (p.state.status === "ISOLATED" ? " (it was isolated again since)" : ""),
    };
  }
  return null;
}

/**
 * Gives every pending effect an outcome. A restart is never repeated (it may already
 * have happened) and is recorded as interrupted. An isolation is carried out again
 * (idempotent) only while the peer is still ISOLATED. A release is completed only when
 * it still undoes the isolation it was issued against; it is never replayed against a
 * later isolation (that would give an isolated peer its network back while its status
 * says ISOLATED). Outcomes are recorded before it returns (a store failure throws here);
 * the promise resolves when the effects run again have finished, and never rejects.
 */
export function resumeInterrupted<P extends RemediatedPeer>(deps: ResumeDeps<P>): Promise<void> {
  const { store, logger } = deps;
  const reruns: Array<Promise<void>> = [];
  for (const eff of store.pendingEffects()) {
    const p = deps.peer(eff.peer);
    if (eff.kind === "restart" || !p) {
      store.recordEffectResult(eff.id, {
        ok: false,
        error: "interrupted: the watchdog stopped before this restart finished; not repeated",
      });
      if (p && eff.kind === "restart" && eff.createdAt !== undefined) {
        // It may still be running (systemd finishes a restart job on its own): the mesh
        // keeps showing it, so no other node repeats it within takeover_after.
        deps.steps.add({
          peer: eff.peer,
          incident: p.state.incidentId,
          step: "restart",
          attempt: eff.attempt,
          startedAt: eff.createdAt,
          finishedAt: deps.now(),
        });
      }
      continue;
    }
    if (eff.kind === "isolate" && p.state.status !== "ISOLATED") {
      store.recordEffectResult(eff.id, { ok: false, error: "interrupted and superseded by a later release" });
      continue;
    }
    if (eff.kind === "release") {
      const stale = staleRelease(p, eff.against);
      if (stale) {
        store.recordEffectResult(eff.id, stale);
        logger.warn(
          { peer: eff.peer, effect_id: eff.id, detail: stale.detail ?? stale.error },
          "interrupted release not replayed",
        );
        continue;
      }
    }
    const effect: RemediationEffect =
      eff.kind === "isolate"
        ? { kind: "isolate", actionId: eff.id }
        : { kind: "release", actionId: eff.id, wasIsolated: true };
    reruns.push(
      deps.rerun(eff.peer, p, effect).then(
        (result) =>
          logger.info({ peer: eff.peer, effect: eff.kind, ok: result.ok }, "resumed interrupted effect"),
        (err: unknown) =>
          logger.error({ peer: eff.peer, effect: eff.kind, err: String(err) }, "resume failed"),
      ),
    );
  }
  return Promise.all(reruns).then(() => undefined);
}
