// An Executor that takes each step in etcd before it runs it: the step key on the peer
// (create-if-absent, bound to this node's lease); the key's create revision is the
// fencing token, carried to the inner executor on the target (and from there to the
// host's step ledger). Just before acting the node checks its own lease and the key again
// (checkToken), so a node that paused past its lease and resumes does not act. A step
// that cannot be taken is a failed ActionResult naming why; it never runs without a token.
import type { Executor, IsolateOutcome, IsolationRecord, RemediationTarget } from "../act/executor.js";
import type { IsolateSpec, RestartSpec } from "../core/options.js";
import type { ActionResult } from "../core/types.js";
import type { FleetNode } from "./fleet-node.js";
import type { StepRecord } from "./keys.js";

export class CoordinatedExecutor implements Executor {
  constructor(
    private readonly inner: Executor,
    private readonly fleet: FleetNode,
  ) {}

  restart(spec: RestartSpec, target: RemediationTarget, signal: AbortSignal): Promise<ActionResult> {
    return this.coordinated(target, "restart", (t) => this.inner.restart(spec, t, signal));
  }

  async isolate(spec: IsolateSpec, target: RemediationTarget, signal: AbortSignal): Promise<IsolateOutcome> {
    let outcome: IsolateOutcome | undefined;
    const result = await this.coordinated(target, "isolate", async (t) => {
      outcome = await this.inner.isolate(spec, t, signal);
      return outcome.result;
    });
    return outcome ?? { result, record: { method: "none", applied: [] } };
  }

  release(
    spec: IsolateSpec,
    record: IsolationRecord | null,
    target: RemediationTarget,
    signal: AbortSignal,
  ): Promise<ActionResult> {
    return this.coordinated(target, "release", (t) => this.inner.release(spec, record, t, signal));
  }

  private async coordinated(
    target: RemediationTarget,
    kind: StepRecord["kind"],
    run: (t: RemediationTarget) => Promise<ActionResult>,
  ): Promise<ActionResult> {
    const claim = await this.fleet.claimStep(target.peer, kind);
    if (!claim.ok) return { ok: false, error: `${kind} held: ${claim.reason}` };
    try {
      const refused = await this.fleet.checkToken(claim.key, claim.token);
      if (refused) return { ok: false, error: `${kind} not run: ${refused}` };
      const result = await run({ ...target, fencingToken: claim.token });
      return { ...result, detail: `${result.detail ?? kind} (fencing token ${claim.token})` };
    } finally {
      await this.fleet.finishStep(claim.key, claim.token);
    }
  }
}
