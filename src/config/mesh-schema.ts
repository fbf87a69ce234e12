// YAML of the built-in mesh (`mesh:`): its key, members, confirmation and takeover. Same
// conventions as schema.ts: snake_case, strict objects, every field described with its unit
// and default.
import { z } from "zod";
import { formatDuration } from "../core/duration.js";
import { ACTION_DEFAULTS, describeDefault, MESH_DEFAULTS } from "../core/defaults.js";
import { CONFIRM_MODES, SECRET_MIN_LENGTH } from "../core/rules.js";
import { duration, httpUrl, name, secret } from "./schema-fields.js";

export const meshSchema = z
  .strictObject({
    key: secret(
      "Shared HMAC-SHA256 key members prove their heartbeats, views and view requests with; at least " +
        String(SECRET_MIN_LENGTH) +
        " characters. Required with members, unless every member has a public_key. Use ${file:/path} or ${ENV}. Never logged.",
      SECRET_MIN_LENGTH,
    ).optional(),
    members: z
      .array(
        z
          .strictObject({
            name: name("The member's node.name."),
            url: httpUrl("Base URL of the member's API, e.g. http://10.0.0.2:9760."),
            public_key: z
              .string()
              .optional()
              .describe(
                "The member's Ed25519 public key (44 base64 characters, printed by `wdmesh keygen`). When set, its heartbeats, views and view requests must carry its own signature; the shared mesh key no longer speaks for it. Requires node.identity.",
              ),
          })
          .describe("Another wdmesh node; it is also watched as a peer."),
      )
      .optional()
      .describe("The other wdmesh nodes of the mesh (not this one). Default []."),
    confirm: z
      .enum(CONFIRM_MODES, { error: `must be one of ${CONFIRM_MODES.join(", ")}` })
      .optional()
      .describe(
        `How many of the N configured nodes (members + this node) must confirm a failure, each through a fresh verified view, before a target is remediated: any = this node alone, majority = floor(N/2)+1, all = N. ${describeDefault(MESH_DEFAULTS.confirm)}`,
      ),
    id: z
      .string()
      .regex(/^[\x21-\x7e]{1,128}$/, { error: "must be 1 to 128 printable ASCII characters" })
      .optional()
      .describe(
        "The mesh's identity, the same on every node: bound into every heartbeat proof and view, so an answer of another mesh fails even when a node's identity key serves both. Default: derived from mesh.key when set, else from the names of every node (then every node must list the same members).",
      ),
    takeover_after: duration(
      `How long another node's started remediation step (restart, isolate) blocks this node before it takes the step over, when it has not seen the step finish (ms or duration). Default: the peer's restart timeout (${formatDuration(ACTION_DEFAULTS.systemctlTimeoutMs)} unless set) plus one interval.`,
    ).optional(),
  })
  .describe("Mesh membership: nodes that watch each other.");
