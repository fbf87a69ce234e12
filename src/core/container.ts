// The shapes of containers as peers: which container (name or id), through which engine
// (Docker or Podman, both speaking the Docker Engine API on a unix socket), and what a
// container isolation changed. Pure: no I/O.
import { parseDuration, type Duration } from "./duration.js";
import { CONTAINER_DEFAULTS } from "./defaults.js";
import { CONTAINER_ENGINES, CONTAINER_HOST_MODES, containerRefProblem } from "./rules.js";

export type ContainerEngine = (typeof CONTAINER_ENGINES)[number];

/** What a container isolation does to a container on the host's network (`--network host`). */
export type ContainerHostMode = (typeof CONTAINER_HOST_MODES)[number];

/** One container on one engine. Exactly one of name and id. */
export interface ContainerRef {
  /** Container name, e.g. "api". */
  name?: string;
  /** Container id (full or a unique prefix). */
  id?: string;
  /** Default "docker". Only picks the default socket: both engines speak the same API. */
  engine?: ContainerEngine;
  /** The engine's unix socket. Default /var/run/docker.sock (docker) or /run/podman/podman.sock (podman). */
  socket?: string;
  /** Deadline of each request to the engine. Default 30 s. */
  timeout?: Duration;
}

export interface ContainerProbeSpec extends ContainerRef {
  /**
   * Set by container discovery: the peer exists because the container does, so a container
   * the engine no longer knows was removed (discovery unwatches it, without an alert), not
   * a miss. A configured container peer that is gone is a miss.
   */
  discovered?: boolean;
}

export interface ContainerRestartSpec extends ContainerRef {
  /** Time the container is given to stop before it is killed (the API's `t`). Default 10 s. */
  stopTimeout?: Duration;
}

export interface ContainerIsolateSpec extends ContainerRef {
  /**
   * What isolation does when the container shares the host's network (nothing to
   * disconnect) or its disconnection cannot be verified: pause it, or stop it. Default pause.
   */
  hostMode?: ContainerHostMode;
  /** With hostMode stop: time the container is given to stop. Default 10 s. */
  stopTimeout?: Duration;
}

/** One network the container was on before isolation, as the engine reported it. */
export interface ContainerNetworkRecord {
  network: string;
  /** Its aliases on that network (the engine's own short-id alias left out). */
  aliases: string[];
  /** Its addresses there (the canary's targets). */
  ipv4?: string;
  ipv6?: string;
  /** Addresses that were configured statically (IPAMConfig), asked for again on release. */
  staticIpv4?: string;
  staticIpv6?: string;
  /** The disconnect took. */
  disconnected: boolean;
}

/** What the container executor changed, structured (release reads this). */
export interface ContainerIsolation {
  /** The container's full id. */
  id: string;
  /** Its name. */
  name: string;
  /** network: disconnected from its networks; pause / stop: host mode (or fallback). */
  mode: "network" | ContainerHostMode;
  networks: ContainerNetworkRecord[];
  paused: boolean;
  stopped: boolean;
  /**
   * Isolation found the container on no network although its network mode names one: an
   * isolation interrupted after its disconnects (run again after a crash), or a disconnect
   * by hand. Which networks to give back is not known, so release says so instead of
   * reporting nothing to undo.
   */
  networksUnknown?: boolean;
}

/** How the spec names its container (id wins). */
export function containerRefOf(spec: ContainerRef): string {
  return spec.id ?? spec.name ?? "";
}

/** The socket a spec talks to. */
export function containerSocketOf(spec: ContainerRef): string {
  if (spec.socket !== undefined && spec.socket !== "") return spec.socket;
  return (spec.engine ?? CONTAINER_DEFAULTS.engine) === "podman"
    ? CONTAINER_DEFAULTS.podmanSocket
    : CONTAINER_DEFAULTS.dockerSocket;
}

/** Why a ContainerRef is unusable (names the field under `prefix`), or undefined. */
export function containerSpecProblem(spec: ContainerRef): { field: string; message: string } | undefined {
  const hasName = spec.name !== undefined;
  const hasId = spec.id !== undefined;
  if (hasName === hasId) return { field: "name", message: "give exactly one of name and id" };
  const field = hasName ? "name" : "id";
  const bad = containerRefProblem(hasName ? spec.name : spec.id);
  if (bad) return { field, message: `${JSON.stringify(hasName ? spec.name : spec.id)} ${bad}` };
  if (spec.engine !== undefined && !(CONTAINER_ENGINES as readonly string[]).includes(spec.engine)) {
    return {
      field: "engine",
      message: `must be ${CONTAINER_ENGINES.join(" or ")} (got ${String(spec.engine)})`,
    };
  }
  if (spec.socket !== undefined && (typeof spec.socket !== "string" || !spec.socket.startsWith("/"))) {
    return { field: "socket", message: "must be an absolute path to the engine's unix socket" };
  }
  return undefined;
}

/** Deadline of one engine request of `spec`, ms. */
export function containerRequestTimeoutMs(spec: ContainerRef): number {
  return spec.timeout === undefined ? CONTAINER_DEFAULTS.requestTimeoutMs : parseDuration(spec.timeout);
}

/** Time the container is given to stop, ms. */
export function containerStopTimeoutMs(spec: { stopTimeout?: Duration }): number {
  return spec.stopTimeout === undefined ? CONTAINER_DEFAULTS.stopTimeoutMs : parseDuration(spec.stopTimeout);
}

/**
 * How long a container restart (or stop) may take in all: the stop timeout plus one
 * request's deadline, ms. The executor's deadline and the step ledger's are this one.
 */
export function containerRestartDeadlineMs(spec: ContainerRef & { stopTimeout?: Duration }): number {
  return containerStopTimeoutMs(spec) + containerRequestTimeoutMs(spec);
}

/** What isolation does when there is no network of its own to cut (or the cut is not verified). */
export function containerHostModeOf(spec: ContainerIsolateSpec): ContainerHostMode {
  return spec.hostMode ?? CONTAINER_DEFAULTS.hostMode;
}
