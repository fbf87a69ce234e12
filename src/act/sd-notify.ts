// The watchdog's own liveness under systemd (sd_notify protocol): READY=1 once started,
// WATCHDOG=1 while alive, STOPPING=1 on shutdown. Only active when $NOTIFY_SOCKET is set.
//
// How the datagram is sent: node cannot send on unix datagram sockets, so we run the
// `systemd-notify` binary (execFile, no shell). systemd-notify sends with the
// credentials of its *parent* (our PID); the kernel lets it do that only with
// CAP_SYS_ADMIN (root), otherwise the message carries systemd-notify's own PID. So:
//   - as root (the example unit), NotifyAccess=main works;
//   - without CAP_SYS_ADMIN, use NotifyAccess=all, or messages are dropped.
// examples/wdmesh.service sets NotifyAccess=all so both cases work.
//
// WATCHDOG=1 must arrive at least every WatchdogSec; $WATCHDOG_USEC carries it and
// watchdogIntervalMs() returns half of it, the usual kick period. A hung event loop
// sends nothing, so systemd kills and restarts the watchdog (Restart=on-failure).
import { execFile } from "node:child_process";
import type { Logger } from "../core/logger.js";
import { ACTION_DEFAULTS } from "../core/defaults.js";

/** Half of $WATCHDOG_USEC in ms (the kick period), or null when systemd's watchdog is off for us. */
export function watchdogIntervalMs(env: NodeJS.ProcessEnv = process.env, pid = process.pid): number | null {
  const usec = Number(env.WATCHDOG_USEC);
  if (!Number.isFinite(usec) || usec <= 0) return null;
  if (env.WATCHDOG_PID !== undefined && env.WATCHDOG_PID !== "" && Number(env.WATCHDOG_PID) !== pid)
    return null;
  return Math.max(1, Math.floor(usec / 2000));
}

/** Sends one notify message; resolves true when systemd-notify exited 0. Never rejects. */
export type NotifySender = (message: string) => Promise<boolean>;

export interface SystemdNotifyOptions {
  logger?: Logger;
  /** Asked before each WATCHDOG=1: a false answer skips the kick (so systemd restarts us). */
  alive?: () => boolean;
  /** Environment to read NOTIFY_SOCKET / WATCHDOG_USEC from. Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Path of systemd-notify. Default "systemd-notify" (on PATH). */
  notifyCommand?: string;
  /** Deadline of one systemd-notify run, ms. Default 5000. */
  timeoutMs?: number;
  /** Replaces the sender (tests). */
  send?: NotifySender;
  /** Send READY=1 at start. Default true. */
  ready?: boolean;
}

export interface SystemdNotifier {
  /** $NOTIFY_SOCKET is set: messages are actually sent. */
  readonly enabled: boolean;
  /** Kick period, ms (half of WatchdogSec), or null when systemd's watchdog is off. */
  readonly watchdogMs: number | null;
  ready(): Promise<boolean>;
  /** WATCHDOG=1, at most one in flight; call it from the probing loop on every turn. */
  kick(): void;
  /** STOPPING=1 (fire and forget). */
  stopping(): void;
  /** Stops the periodic kick timer. Idempotent. */
  close(): void;
}

function execSender(bin: string, timeoutMs: number, env: NodeJS.ProcessEnv, logger?: Logger): NotifySender {
  return (message) =>
    new Promise<boolean>((resolve) => {
      execFile(bin, [message], { timeout: timeoutMs, env }, (err, _out, stderr) => {
        if (err) {
          logger?.warn({ message, error: (stderr || err.message).trim().slice(0, 200) }, "sd_notify failed");
          resolve(false);
        } else resolve(true);
      });
    });
}

/**
 * Starts the notifier: READY=1 now, then WATCHDOG=1 every watchdogIntervalMs() while
 * `alive()` says so. A no-op object when $NOTIFY_SOCKET is not set.
 */
export function startSystemdNotify(opts: SystemdNotifyOptions = {}): SystemdNotifier {
  const env = opts.env ?? process.env;
  const enabled = typeof env.NOTIFY_SOCKET === "string" && env.NOTIFY_SOCKET !== "";
  const watchdogMs = enabled ? watchdogIntervalMs(env) : null;
  const send =
    opts.send ??
    execSender(
      opts.notifyCommand ?? "systemd-notify",
      opts.timeoutMs ?? ACTION_DEFAULTS.sdNotifyTimeoutMs,
      env,
      opts.logger,
    );
  let inFlight = false;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;

  const notifier: SystemdNotifier = {
    enabled,
    watchdogMs,
    ready: () => (enabled ? send("READY=1") : Promise.resolve(false)),
    kick() {
      if (!enabled || closed || inFlight) return;
      if (opts.alive && !opts.alive()) return;
      inFlight = true;
      void send("WATCHDOG=1").finally(() => (inFlight = false));
    },
    stopping() {
      if (enabled) void send("STOPPING=1");
    },
    close() {
      closed = true;
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
  if (enabled) {
    if (opts.ready !== false) void notifier.ready();
    if (watchdogMs !== null) {
      timer = setInterval(() => notifier.kick(), watchdogMs);
      timer.unref();
    }
  }
  return notifier;
}
