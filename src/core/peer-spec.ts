// Validation of a library PeerSpec (registerPeer full form). The config file has its
// own schema (config/); both call the rules of core/rules.ts, so they reject the same
// things, each with an error naming the field.
import { InvalidOptionError } from "./errors.js";
import { publicKeyProblem } from "./identity.js";
import type { PeerSpec } from "./options.js";
import { containerSpecProblem, type ContainerRef } from "./container.js";
import { argvProblem, httpStatusProblem, ISOLATION_MODES, nameProblem, unitProblem } from "./rules.js";

function httpUrl(url: unknown, field: string): void {
  let u: URL;
  try {
    u = new URL(String(url));
  } catch {
    throw new InvalidOptionError(
      field,
      `${JSON.stringify(url)} is not a valid URL; use e.g. http://127.0.0.1:9770/health`,
    );
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") {
    throw new InvalidOptionError(field, `must be an http(s) URL (got ${u.protocol})`);
  }
}

function argv(a: unknown, field: string): void {
  const problem = argvProblem(a);
  if (problem) throw new InvalidOptionError(field, problem);
}

function container(c: ContainerRef | undefined, field: string): void {
  if (!c || typeof c !== "object") throw new InvalidOptionError(field, "must be an object with name or id");
  const problem = containerSpecProblem(c);
  if (problem) throw new InvalidOptionError(`${field}.${problem.field}`, problem.message);
}

/** Throws InvalidOptionError (WDM_INVALID_OPTION) naming the first bad field. */
export function validatePeerSpec(spec: PeerSpec): void {
  if (!spec || typeof spec !== "object")
    throw new InvalidOptionError("peer", "must be an object or (name, url)");
  const badName = nameProblem(spec.name);
  if (badName) throw new InvalidOptionError("name", `${JSON.stringify(spec.name)} ${badName}`);
  const f = (x: string): string => `peers.${spec.name}.${x}`;
  if (spec.dependsOn !== undefined) {
    if (!Array.isArray(spec.dependsOn))
      throw new InvalidOptionError(f("dependsOn"), "must be an array of peer names");
    for (const d of spec.dependsOn as unknown[]) {
      const bad = nameProblem(d);
      if (bad) throw new InvalidOptionError(f("dependsOn"), `${JSON.stringify(d)} ${bad}`);
      if (d === spec.name) throw new InvalidOptionError(f("dependsOn"), "a peer cannot depend on itself");
    }
  }
  const probe = spec.probe as Record<string, unknown> | undefined;
  const kinds = probe && typeof probe === "object" ? Object.keys(probe) : [];
  if (kinds.length !== 1) {
    throw new InvalidOptionError(
      f("probe"),
      "must have exactly one of http, tcp, exec, heartbeat, container",
    );
  }
  const p = spec.probe;
  if ("http" in p) {
    httpUrl(p.http?.url, f("probe.http.url"));
    const st = p.http.expectStatus;
    const badStatus = st === undefined ? undefined : httpStatusProblem(st);
    if (badStatus) throw new InvalidOptionError(f("probe.http.expectStatus"), `${badStatus} (got ${st})`);
  } else if ("tcp" in p) {
    if (typeof p.tcp?.host !== "string" || p.tcp.host === "") {
      throw new InvalidOptionError(f("probe.tcp.host"), "must be a host name or IP address");
    }
    if (!Number.isInteger(p.tcp.port) || p.tcp.port < 1 || p.tcp.port > 65535) {
      throw new InvalidOptionError(
        f("probe.tcp.port"),
        `must be an integer from 1 to 65535 (got ${String(p.tcp.port)})`,
      );
    }
  } else if ("exec" in p) {
    argv(p.exec?.argv, f("probe.exec.argv"));
  } else if ("heartbeat" in p) {
    httpUrl(p.heartbeat?.url, f("probe.heartbeat.url"));
    if (!p.heartbeat.node) throw new InvalidOptionError(f("probe.heartbeat.node"), "is required");
    if (!p.heartbeat.key && !p.heartbeat.publicKey)
      throw new InvalidOptionError(
        f("probe.heartbeat.key"),
        "is required (the mesh key), unless probe.heartbeat.publicKey (the node's identity) is given",
      );
    if (p.heartbeat.publicKey !== undefined) {
      const problem = publicKeyProblem(p.heartbeat.publicKey);
      if (problem) throw new InvalidOptionError(f("probe.heartbeat.publicKey"), problem);
      if (!p.heartbeat.from)
        throw new InvalidOptionError(
          f("probe.heartbeat.from"),
          "is required with publicKey (this node's name)",
        );
    }
  } else if ("container" in p) {
    container(p.container, f("probe.container"));
  } else {
    throw new InvalidOptionError(
      f("probe"),
      `unknown probe kind "${kinds[0]}"; use http, tcp, exec, heartbeat or container`,
    );
  }
  for (const key of ["restart", "isolate"] as const) {
    const r = spec[key];
    if (r === undefined || r === "none") continue;
    if ("systemd" in r) {
      const u = r.systemd?.unit;
      if (typeof u !== "string" || u === "") {
        throw new InvalidOptionError(f(`${key}.systemd.unit`), "is required, e.g. sidecar.service");
      }
      const badUnit = unitProblem(u);
      if (badUnit) throw new InvalidOptionError(f(`${key}.systemd.unit`), `${JSON.stringify(u)} ${badUnit}`);
      const mode = key === "isolate" ? (r.systemd as { mode?: string }).mode : undefined;
      if (mode !== undefined && !(ISOLATION_MODES as readonly string[]).includes(mode)) {
        throw new InvalidOptionError(
          f("isolate.systemd.mode"),
          `must be ${ISOLATION_MODES.join(", ")} (got ${mode})`,
        );
      }
    } else if ("command" in r) {
      argv(r.command?.argv, f(`${key}.command.argv`));
    } else if ("container" in r) {
      container(r.container, f(`${key}.container`));
    } else {
      throw new InvalidOptionError(
        f(key),
        `must be {systemd: {...}}, {command: {...}}, {container: {...}} or "none"`,
      );
    }
  }
}
