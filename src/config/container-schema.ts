// YAML of containers: the `container:` probe, restart and isolate methods, and
// `peers_from.containers` (discovery by label). Same conventions as schema.ts: snake_case,
// strict objects, every field described with its unit and default.
import { z } from "zod";
import { CONTAINER_DEFAULTS, describeDefault } from "../core/defaults.js";
import {
  CONTAINER_ENGINES,
  CONTAINER_HOST_MODES,
  CONTAINER_REF_HELP,
  CONTAINER_REF_RE,
  DURATION_HELP,
  DURATION_RE,
} from "../core/rules.js";

const duration = (description: string) =>
  z
    .union(
      [
        z.string().regex(DURATION_RE, { error: DURATION_HELP }),
        z.number().int({ error: DURATION_HELP }).min(0, { error: DURATION_HELP }),
      ],
      { error: DURATION_HELP },
    )
    .describe(description);

const ref = (description: string) =>
  z
    .string()
    .regex(CONTAINER_REF_RE, { error: `is not ${CONTAINER_REF_HELP}` })
    .describe(description);

const engine = z
  .enum(CONTAINER_ENGINES, { error: `must be one of ${CONTAINER_ENGINES.join(", ")}` })
  .describe(
    `Container engine; only picks the default socket, both speak the Docker Engine API. ${describeDefault(CONTAINER_DEFAULTS.engine)}`,
  );

const socket = z
  .string()
  .regex(/^\//, { error: "must be an absolute path to the engine's unix socket" })
  .describe(
    `The engine's unix socket. Default ${CONTAINER_DEFAULTS.dockerSocket} (docker) or ${CONTAINER_DEFAULTS.podmanSocket} (podman). Access to it is root on the host.`,
  );

const common = {
  name: ref("Container name (give name or id).").optional(),
  id: ref("Container id, full or a unique prefix (give name or id).").optional(),
  engine: engine.optional(),
  socket: socket.optional(),
  timeout: duration(
    `Deadline of each request to the engine (ms or duration). ${describeDefault(CONTAINER_DEFAULTS.requestTimeoutMs, "ms")}`,
  ).optional(),
};

const stopTimeout = duration(
  `Time the container is given to stop before it is killed (ms or duration; the API's t, whole seconds). ${describeDefault(CONTAINER_DEFAULTS.stopTimeoutMs, "ms")}`,
).optional();

function nameOrId<T extends { name?: string | undefined; id?: string | undefined }>(
  v: T,
  ctx: z.RefinementCtx,
): void {
  if ((v.name === undefined) === (v.id === undefined)) {
    ctx.addIssue({ code: "custom", message: "give exactly one of name and id", path: ["name"] });
  }
}

export const containerProbeSchema = z
  .strictObject(common)
  .superRefine(nameOrId)
  .describe(
    "Container probe: the engine's HEALTHCHECK status (unhealthy = miss, starting = not a miss yet); without a HEALTHCHECK, running = alive.",
  );

export const containerRestartSchema = z
  .strictObject({ ...common, stop_timeout: stopTimeout })
  .superRefine(nameOrId)
  .describe("Restart the container through the Docker Engine API (POST /containers/{id}/restart).");

export const containerIsolateSchema = z
  .strictObject({
    ...common,
    host_mode: z
      .enum(CONTAINER_HOST_MODES, { error: `must be one of ${CONTAINER_HOST_MODES.join(", ")}` })
      .optional()
      .describe(
        `A container on the host's network has nothing of its own to disconnect, and a cut that cannot be verified is not trusted: then pause or stop it. ${describeDefault(CONTAINER_DEFAULTS.hostMode)}`,
      ),
    stop_timeout: stopTimeout,
  })
  .superRefine(nameOrId)
  .describe(
    "Isolate the container: disconnect it from every network, verified by the engine and a canary connection to its former address; released by reconnecting exactly those networks with their aliases.",
  );

export const peersFromSchema = z
  .strictObject({
    containers: z
      .strictObject({
        engine: engine.optional(),
        socket: socket.optional(),
        label: z
          .string()
          .regex(/^[A-Za-z0-9][A-Za-z0-9_.\-/]*(=[^\s]*)?$/, {
            error: "must be KEY or KEY=VALUE, e.g. wdmesh.watch=true",
          })
          .optional()
          .describe(
            `Containers carrying this label (KEY=VALUE or KEY) are peers. ${describeDefault(CONTAINER_DEFAULTS.label)}`,
          ),
        timeout: duration(
          `Deadline of each request to the engine (ms or duration). ${describeDefault(CONTAINER_DEFAULTS.requestTimeoutMs, "ms")}`,
        ).optional(),
      })
      .optional()
      .describe(
        "Every container with the label becomes a peer named after the container, probed, restarted and isolated through the engine (wdmesh.* labels override); followed through the engine's event stream.",
      ),
  })
  .describe("Peers found at run time rather than listed under peers.");
