// The fleet's part of the resolved config: this node's host, each peer's host, the etcd
// coordination (durations in ms) and the hosts' fence commands.
import { hostname } from "node:os";
import { FLEET_DEFAULTS } from "../core/defaults.js";
import { parseDuration } from "../core/duration.js";
import type { CommandSpec } from "../core/options.js";
import type { FleetEtcdOptions } from "../fleet/fleet-node.js";
import type { ConfigFile } from "./schema.js";

export type ResolvedEtcd = FleetEtcdOptions;

export interface ResolvedFleet {
  /** This node's host (node.host, default the machine's hostname). */
  host: string;
  /** Host of each peer that names one (the others run on this node's host). */
  peerHosts: Record<string, string>;
  /** etcd coordination; null: the built-in mesh (or a lone node). */
  etcd: ResolvedEtcd | null;
  hosts: Array<{ name: string; fence?: CommandSpec }>;
}

export function resolveFleet(file: ConfigFile): ResolvedFleet {
  const host = file.node.host ?? hostname();
  const peerHosts: Record<string, string> = {};
  for (const p of file.peers ?? []) if (p.host !== undefined) peerHosts[p.name] = p.host;
  const e = file.coordination?.etcd;
  const etcd: ResolvedEtcd | null = e
    ? {
        endpoints: [...e.endpoints],
        prefix: e.prefix ?? FLEET_DEFAULTS.prefix,
        ...(e.tls
          ? {
              tls: {
                ca: e.tls.ca,
                ...(e.tls.cert === undefined ? {} : { cert: e.tls.cert }),
                ...(e.tls.key === undefined ? {} : { key: e.tls.key }),
              },
            }
          : {}),
        leaseTtlMs: e.lease_ttl === undefined ? FLEET_DEFAULTS.leaseTtlMs : parseDuration(e.lease_ttl),
        keepaliveIntervalMs:
          e.keepalive_interval === undefined
            ? FLEET_DEFAULTS.keepaliveIntervalMs
            : parseDuration(e.keepalive_interval),
        requestTimeoutMs:
          e.request_timeout === undefined
            ? FLEET_DEFAULTS.requestTimeoutMs
            : parseDuration(e.request_timeout),
      }
    : null;
  const hosts = (file.hosts ?? []).map((h) => ({
    name: h.name,
    ...(h.fence
      ? {
          fence: {
            argv: [...h.fence.command.argv],
            ...(h.fence.command.timeout === undefined
              ? {}
              : { timeout: parseDuration(h.fence.command.timeout) }),
          },
        }
      : {}),
  }));
  return { host, peerHosts, etcd, hosts };
}
