// The executor the daemon uses: dispatches each effect on the shape of its spec —
// `{ systemd: … }` to SystemdExecutor, `{ command: … }` to CommandExecutor.
import type { ActionResult } from "../core/types.js";
import type { IsolateSpec, RestartSpec } from "../core/options.js";
import type { Executor, IsolateOutcome, IsolationRecord, RemediationTarget } from "./executor.js";
import { CommandExecutor, type CommandExecutorOptions } from "./command.js";
import { ContainerExecutor, type ContainerExecutorOptions } from "./container.js";
import { SystemdExecutor, type SystemdExecutorOptions } from "./systemd.js";

export interface CreateExecutorOptions {
  systemd?: SystemdExecutorOptions;
  command?: CommandExecutorOptions;
  container?: ContainerExecutorOptions;
}

function unknownSpec(what: string, spec: unknown): ActionResult {
  return {
    ok: false,
    error: `${what} spec ${JSON.stringify(spec)} has none of "systemd", "command", "container"; configure one of them`,
  };
}

export function createExecutor(opts: CreateExecutorOptions = {}): Executor {
  const systemd = new SystemdExecutor(opts.systemd);
  const command = new CommandExecutor(opts.command);
  const container = new ContainerExecutor(opts.container);
  return {
    async restart(spec: RestartSpec, target: RemediationTarget, signal: AbortSignal): Promise<ActionResult> {
      if (spec && typeof spec === "object" && "systemd" in spec) return systemd.restart(spec, target, signal);
      if (spec && typeof spec === "object" && "command" in spec) return command.restart(spec, target, signal);
      if (spec && typeof spec === "object" && "container" in spec)
        return container.restart(spec, target, signal);
      return unknownSpec("restart", spec);
    },
    async isolate(
      spec: IsolateSpec,
      target: RemediationTarget,
      signal: AbortSignal,
    ): Promise<IsolateOutcome> {
      if (spec && typeof spec === "object" && "systemd" in spec) return systemd.isolate(spec, target, signal);
      if (spec && typeof spec === "object" && "command" in spec) return command.isolate(spec, target, signal);
      if (spec && typeof spec === "object" && "container" in spec)
        return container.isolate(spec, target, signal);
      return { result: unknownSpec("isolate", spec), record: { method: "none", applied: [] } };
    },
    async release(
      spec: IsolateSpec,
      record: IsolationRecord | null,
      target: RemediationTarget,
      signal: AbortSignal,
    ): Promise<ActionResult> {
      if (spec && typeof spec === "object" && "systemd" in spec)
        return systemd.release(spec, record, target, signal);
      if (spec && typeof spec === "object" && "command" in spec)
        return command.release(spec, record, target, signal);
      if (spec && typeof spec === "object" && "container" in spec)
        return container.release(spec, record, target, signal);
      return unknownSpec("isolate", spec);
    },
  };
}
