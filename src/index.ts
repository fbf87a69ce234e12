// watchdog-mesh — library entry. The ladder reducer (step, initialState and its types) is
// the subpath watchdog-mesh/ladder (src/ladder.ts), not part of this root.
export { Monitor } from "./monitor.js";
export type {
  MonitorOptions,
  EscalationHandler,
  ProbeListener,
  SchedulerStats,
  RemediationGate,
  GateVerdict,
} from "./monitor.js";
export type { LedgerOptions } from "./ledger/sqlite-ledger.js";
export type { StepClaimer, ClaimedStep } from "./effects/runner.js";
export type {
  PeerStatus,
  PeerHealth,
  EscalationAction,
  ActionKind,
  ActionResult,
  MonitorStats,
  Severity,
  ProbeResult,
} from "./core/types.js";
export type {
  PeerSpec,
  ProbeSpec,
  RestartSpec,
  IsolateSpec,
  IsolateMode,
  TimingOptions,
  HttpProbeSpec,
  TcpProbeSpec,
  ExecProbeSpec,
  HeartbeatProbeSpec,
  CommandSpec,
} from "./core/options.js";
export { compilePolicy, type Policy } from "./core/options.js";
export type {
  ContainerRef,
  ContainerProbeSpec,
  ContainerRestartSpec,
  ContainerIsolateSpec,
  ContainerEngine,
  ContainerHostMode,
} from "./core/container.js";
export {
  TIMING_DEFAULTS,
  CONCURRENCY_DEFAULT,
  PROBE_DEFAULTS,
  ACTION_DEFAULTS,
  MESH_DEFAULTS,
  SELF_HEALTH_DEFAULTS,
} from "./core/defaults.js";
export {
  monitorOptionsFromConfig,
  loadMonitorOptions,
  type MonitorConfig,
  type MonitorConfigOptions,
} from "./config/monitor-config.js";
export { ConfigError, type ConfigIssue } from "./config/config-error.js";
export type { SelfHealthOptions } from "./health/self-health.js";
export type { MeshOptions, MeshMember, MeshView, MeshMemberView } from "./mesh/mesh-node.js";
export type { ConfirmMode } from "./core/rules.js";
export { WatchdogError, InvalidOptionError } from "./core/errors.js";
export type { ErrorCode } from "./core/errors.js";
export { parseDuration, type Duration } from "./core/duration.js";
export type { Executor, IsolationRecord, RemediationTarget, IsolateOutcome } from "./act/executor.js";
export type { Prober } from "./probe/prober.js";
export type { Clock } from "./schedule/clock.js";
export type { Logger } from "./core/logger.js";
export { verifyWebhook, type WebhookHeaders, type VerifyOptions } from "./alert/signature.js";
