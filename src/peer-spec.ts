// Validation of a library PeerSpec (registerPeer full form). The config file has its
// own schema (config/); both reject the same things with a field-naming error.
import { InvalidOptionError } from "./core/errors.js";
import type { PeerSpec } from "./core/options.js";

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,127}$/;

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
  if (!Array.isArray(a) || a.length === 0 || a.some((x) => typeof x !== "string" || x === "")) {
    throw new InvalidOptionError(field, "must be a non-empty list of strings (argv; no shell)");
  }
}

/** Throws InvalidOptionError (WDM_INVALID_OPTION) naming the first bad field. */
export function validatePeerSpec(spec: PeerSpec): void {
  if (!spec || typeof spec !== "object")
    throw new InvalidOptionError("peer", "must be an object or (name, url)");
  if (typeof spec.name !== "string" || !NAME.test(spec.name)) {
    throw new InvalidOptionError(
      "name",
      `${JSON.stringify(spec.name)} is not a valid peer name; use letters, digits and _ . @ - (max 128)`,
    );
  }
  const f = (x: string): string => `peers.${spec.name}.${x}`;
  const probe = spec.probe as Record<string, unknown> | undefined;
  const kinds = probe && typeof probe === "object" ? Object.keys(probe) : [];
  if (kinds.length !== 1) {
    throw new InvalidOptionError(f("probe"), "must have exactly one of http, tcp, exec, heartbeat");
  }
  const p = spec.probe;
  if ("http" in p) {
    httpUrl(p.http?.url, f("probe.http.url"));
    const st = p.http.expectStatus;
    if (st !== undefined && (!Number.isInteger(st) || st < 100 || st > 599)) {
      throw new InvalidOptionError(
        f("probe.http.expectStatus"),
        `must be an HTTP status from 100 to 599 (got ${st})`,
      );
    }
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
    if (!p.heartbeat.key)
      throw new InvalidOptionError(f("probe.heartbeat.key"), "is required (the mesh key)");
  } else {
    throw new InvalidOptionError(
      f("probe"),
      `unknown probe kind "${kinds[0]}"; use http, tcp, exec or heartbeat`,
    );
  }
  for (const key of ["restart", "isolate"] as const) {
    const r = spec[key];
    if (r === undefined || r === "none") continue;
    if ("systemd" in r) {
      if (typeof r.systemd?.unit !== "string" || r.systemd.unit === "") {
        throw new InvalidOptionError(f(`${key}.systemd.unit`), "is required, e.g. sidecar.service");
      }
      const mode = key === "isolate" ? (r.systemd as { mode?: string }).mode : undefined;
      if (mode !== undefined && !["network", "stop", "freeze"].includes(mode)) {
        throw new InvalidOptionError(
          f("isolate.systemd.mode"),
          `must be network, stop or freeze (got ${mode})`,
        );
      }
    } else if ("command" in r) {
      argv(r.command?.argv, f(`${key}.command.argv`));
    } else {
      throw new InvalidOptionError(f(key), `must be {systemd: {...}}, {command: {...}} or "none"`);
    }
  }
}
