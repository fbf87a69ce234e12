// The view's wire format, declared once: the zod schema below types what buildView writes
// (views.ts: MeshViewDoc is inferred from it) and checks what a member answers
// (verifyView). Unknown fields are dropped, so a newer member may add fields.
//
// This module loads zod: the poller imports it on its first poll (views.ts), so an
// embedded Monitor without a mesh never pays for it.
import { z } from "zod";
import { HEX64, verifyHmacHex } from "../core/hmac.js";
import { verifySignature, type PublicIdentity } from "../core/identity.js";
import { VIEW_PROOF_HEADER } from "./views.js";

const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

const viewPeerSchema = z.object({
  name: z.string(),
  status: z.enum(["UNKNOWN", "HEALTHY", "DEGRADED", "OFFLINE", "ISOLATED"]),
  missed_count: count,
  /** The node this node backs to remediate the peer (present while it sees the peer failing). */
  backs: z.string().optional(),
  /**
   * How long, ms, this node's backing has been stable: since it last stopped backing
   * another node (or since it started). null: it never stopped backing anyone.
   */
  backs_stable_ms: count.nullable().optional(),
});

const inFlightSchema = z.object({
  peer: z.string(),
  /** The node's incident id for the peer (null outside an incident, e.g. an operator restart). */
  incident: z.string().nullable(),
  step: z.enum(["restart", "isolate"]),
  /** Restart attempt (0 for an operator restart and for isolate). */
  attempt: z.number().int().min(Number.MIN_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER),
  /** RFC 3339, the serving node's clock (informational). */
  started_at: z.string(),
  /** ms since it started, at the time the view was served. */
  age_ms: count.optional(),
  /** True once it has finished (steps stay listed for takeover_after after they start). */
  finished: z.boolean().optional(),
});

export const meshViewSchema = z.object({
  node: z.string(),
  /** When the view was made (RFC 3339, the serving node's clock; informational). */
  at: z.string(),
  /** The nonce of the request, echoed. */
  nonce: z.string().optional(),
  /** The member that asked for this view (its signed request's name); absent for a read-token reader. */
  for: z.string().optional(),
  /** The mesh this view belongs to (MeshNode.meshId): an answer of another mesh fails. */
  mesh: z.string().optional(),
  peers: z.array(viewPeerSchema),
  in_flight: z.array(inFlightSchema).optional(),
  /** Present (true) while the node is overloaded (self health degraded) and holds its steps. */
  degraded: z.boolean().optional(),
});

export type ViewPeer = z.infer<typeof viewPeerSchema>;
/** A remediation step a node has started (listed until takeover_after after it started). */
export type InFlightView = z.infer<typeof inFlightSchema>;
/** What a node serves on /v1/mesh/view. */
export type MeshViewDoc = z.infer<typeof meshViewSchema>;

/** How a view is proven: the shared mesh key, or the member's own public key. */
export interface ViewSigner {
  key?: string;
  publicKey?: PublicIdentity;
}

/** What the answer must be: of `node`, echoing `nonce`, and (when given) for `requester` in mesh `mesh`. */
export interface ViewExpectation {
  node: string;
  nonce: string;
  requester?: string;
  mesh?: string;
}

/** `peers[0].backs` from a zod issue path. */
function pathText(path: readonly PropertyKey[]): string {
  let out = "";
  for (const p of path) out += typeof p === "number" ? `[${p}]` : `${out === "" ? "" : "."}${String(p)}`;
  return out;
}

/**
 * Checks a view answer: proof (mesh key or the member's own signature), the schema, node
 * name, echoed nonce, and the requester and mesh it was made for. Returns the parsed view
 * or the reason it was rejected (no secret in it).
 */
export function verifyView(
  key: string | ViewSigner,
  body: Buffer,
  proof: unknown,
  expect: ViewExpectation,
): { ok: true; view: MeshViewDoc } | { ok: false; error: string } {
  const signer: ViewSigner = typeof key === "string" ? { key } : key;
  const text = body.toString("utf8");
  if (signer.publicKey !== undefined) {
    // A member with its own identity: only its Ed25519 signature counts.
    const sig = typeof proof === "string" && proof.startsWith("ed25519=") ? proof.slice(8) : undefined;
    if (sig === undefined || !verifySignature(signer.publicKey, text, sig)) {
      return {
        ok: false,
        error:
          "view signature does not match the member's public key (impostor, or a different identity on that node?)",
      };
    }
  } else {
    if (typeof proof !== "string" || !HEX64.test(proof)) {
      return { ok: false, error: `no valid ${VIEW_PROOF_HEADER} header (64 hex characters expected)` };
    }
    if (!signer.key || !verifyHmacHex(signer.key, body, proof)) {
      return {
        ok: false,
        error: "view proof does not match the mesh key (impostor, or a different mesh.key on that node?)",
      };
    }
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return { ok: false, error: "view is not JSON" };
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc))
    return { ok: false, error: "view is not a JSON object" };
  const node = (doc as { node?: unknown }).node;
  if (node !== expect.node) {
    const got = typeof node === "string" ? JSON.stringify(node.slice(0, 64)) : "missing";
    return {
      ok: false,
      error: `view is of node ${got}, expected ${JSON.stringify(expect.node)} (check the member's url)`,
    };
  }
  const parsed = meshViewSchema.safeParse(doc);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue ? pathText(issue.path) : "";
    return {
      ok: false,
      error: `view ${where === "" ? "body" : where} is not of the view format (${issue?.message ?? "invalid"})`,
    };
  }
  const view = parsed.data;
  if (view.nonce !== expect.nonce)
    return { ok: false, error: "view does not echo the request's nonce (replayed or stale answer)" };
  if (expect.requester !== undefined && view.for !== expect.requester) {
    return {
      ok: false,
      error: `view was made for ${JSON.stringify(view.for ?? "nobody")}, not for this node (relayed answer?)`,
    };
  }
  if (expect.mesh !== undefined && view.mesh !== expect.mesh) {
    return {
      ok: false,
      error:
        "view belongs to another mesh (its mesh identity differs: check mesh.id / mesh.key on both nodes)",
    };
  }
  // A backing without its age is one that never moved.
  for (const p of view.peers)
    if (p.backs !== undefined && p.backs_stable_ms === undefined) p.backs_stable_ms = null;
  if (view.degraded !== true) delete view.degraded;
  return { ok: true, view };
}
