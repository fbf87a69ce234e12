// The view's wire format, declared once: the interfaces below type what buildView writes
// (views.ts) and parseMeshView checks what a member answers (verifyView), field by field.
// Unknown fields are dropped, so a newer member may add fields.
//
// The check is a plain walk over the parsed JSON, no schema library: it runs once per
// member per poll, and a schema library would add about 5 MB to an embedded Monitor's
// RSS. The poller imports this module on its first poll (views.ts), so a node that polls
// no view never loads it.
import { HEX64, verifyHmacHex } from "../core/hmac.js";
import { verifySignature, type PublicIdentity } from "../core/identity.js";
import { VIEW_PROOF_HEADER } from "./views.js";

export interface ViewPeer {
  name: string;
  status: "UNKNOWN" | "HEALTHY" | "DEGRADED" | "OFFLINE" | "ISOLATED";
  /** An integer from 0 to Number.MAX_SAFE_INTEGER. */
  missed_count: number;
  /** The node this node backs to remediate the peer (present while it sees the peer failing). */
  backs?: string;
  /**
   * How long, ms, this node's backing has been stable: since it last stopped backing
   * another node (or since it started). null: it never stopped backing anyone.
   */
  backs_stable_ms?: number | null;
}

/** A remediation step a node has started (listed until takeover_after after it started). */
export interface InFlightView {
  peer: string;
  /** The node's incident id for the peer (null outside an incident, e.g. an operator restart). */
  incident: string | null;
  step: "restart" | "isolate";
  /** Restart attempt (0 for an operator restart and for isolate). A safe integer. */
  attempt: number;
  /** RFC 3339, the serving node's clock (informational). */
  started_at: string;
  /** ms since it started, at the time the view was served. */
  age_ms?: number;
  /** True once it has finished (steps stay listed for takeover_after after they start). */
  finished?: boolean;
}

/** What a node serves on /v1/mesh/view. */
export interface MeshViewDoc {
  node: string;
  /** When the view was made (RFC 3339, the serving node's clock; informational). */
  at: string;
  /** The nonce of the request, echoed. */
  nonce?: string;
  /** The member that asked for this view (its signed request's name); absent for a read-token reader. */
  for?: string;
  /** The mesh this view belongs to (MeshNode.meshId): an answer of another mesh fails. */
  mesh?: string;
  peers: ViewPeer[];
  in_flight?: InFlightView[];
  /** Present (true) while the node is overloaded (self health degraded) and holds its steps. */
  degraded?: boolean;
  /**
   * Why the node cannot record what it does (its store cannot commit), as its /health says;
   * null when it can. Absent from a node that does not say (an older version).
   */
  unfit?: string | null;
  /** In a streamed answer: the view's place in the stream (1, 2, ...). */
  seq?: number;
  /** In a streamed answer: the serving node's monotonic ms since it accepted the stream's request. */
  elapsed_ms?: number;
}

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

const STATUSES: readonly unknown[] = ["UNKNOWN", "HEALTHY", "DEGRADED", "OFFLINE", "ISOLATED"];
const STEPS: readonly unknown[] = ["restart", "isolate"];
const STATUS_TEXT = `one of ${STATUSES.join(", ")}`;
const STEP_TEXT = `one of ${STEPS.join(", ")}`;
const COUNT_TEXT = "an integer from 0";

/** The first problem found in a document: where (`peers[0].backs`; "" for the root) and what was expected. */
class Problem {
  constructor(
    readonly where: string,
    readonly message: string,
  ) {}

  /** This problem (found in an entry) as seen from the entry's parent, where the entry is at `at`. */
  under(at: string): Problem {
    return new Problem(this.where === "" ? at : `${at}.${this.where}`, this.message);
  }
}

/** What a value that failed a check was, for the message (a string is cut to 32 characters). */
function describe(v: unknown): string {
  if (v === undefined) return "nothing";
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "string") return JSON.stringify(v.length > 32 ? `${v.slice(0, 32)}…` : v);
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  return "an object";
}

/** Field `where` holds `v` where `what` was expected. */
function wrong(where: string, what: string, v: unknown): Problem {
  return new Problem(where, `expected ${what}, got ${describe(v)}`);
}

/** A JSON object (not null, not an array). */
function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** An integer from 0 to Number.MAX_SAFE_INTEGER. */
function isCount(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

// Each reader checks the fields in their declared order (the first problem reported is
// the first in that order, entries of a list before the fields after it) and returns a
// fresh object with the declared fields only: an unknown field is dropped, an absent
// optional one stays absent. An optional field may not be null unless it says so.

function readPeer(v: unknown): ViewPeer | Problem {
  if (!isObject(v)) return wrong("", "object", v);
  const { name, status, missed_count, backs, backs_stable_ms } = v;
  if (typeof name !== "string") return wrong("name", "string", name);
  if (!STATUSES.includes(status)) return wrong("status", STATUS_TEXT, status);
  if (!isCount(missed_count)) return wrong("missed_count", COUNT_TEXT, missed_count);
  if (backs !== undefined && typeof backs !== "string") return wrong("backs", "string", backs);
  if (backs_stable_ms !== undefined && backs_stable_ms !== null && !isCount(backs_stable_ms))
    return wrong("backs_stable_ms", `${COUNT_TEXT} or null`, backs_stable_ms);
  const out: ViewPeer = { name, status: status as ViewPeer["status"], missed_count };
  if (backs !== undefined) out.backs = backs;
  if (backs_stable_ms !== undefined) out.backs_stable_ms = backs_stable_ms;
  return out;
}

function readInFlight(v: unknown): InFlightView | Problem {
  if (!isObject(v)) return wrong("", "object", v);
  const { peer, incident, step, attempt, started_at, age_ms, finished } = v;
  if (typeof peer !== "string") return wrong("peer", "string", peer);
  if (incident !== null && typeof incident !== "string") return wrong("incident", "string or null", incident);
  if (!STEPS.includes(step)) return wrong("step", STEP_TEXT, step);
  if (typeof attempt !== "number" || !Number.isSafeInteger(attempt))
    return wrong("attempt", "a safe integer", attempt);
  if (typeof started_at !== "string") return wrong("started_at", "string", started_at);
  if (age_ms !== undefined && !isCount(age_ms)) return wrong("age_ms", COUNT_TEXT, age_ms);
  if (finished !== undefined && typeof finished !== "boolean") return wrong("finished", "boolean", finished);
  const out: InFlightView = { peer, incident, step: step as InFlightView["step"], attempt, started_at };
  if (age_ms !== undefined) out.age_ms = age_ms;
  if (finished !== undefined) out.finished = finished;
  return out;
}

/** The array in field `field`, each entry read by `read`. */
function readList<T>(field: string, v: unknown, read: (entry: unknown) => T | Problem): T[] | Problem {
  if (!Array.isArray(v)) return wrong(field, "array", v);
  const out: T[] = [];
  for (let i = 0; i < v.length; i++) {
    const r = read(v[i]);
    if (r instanceof Problem) return r.under(`${field}[${i}]`);
    out.push(r);
  }
  return out;
}

function readView(v: unknown): MeshViewDoc | Problem {
  if (!isObject(v)) return wrong("", "object", v);
  const { node, at, nonce, for: requester, mesh, peers, in_flight, degraded, unfit, seq, elapsed_ms } = v;
  if (typeof node !== "string") return wrong("node", "string", node);
  if (typeof at !== "string") return wrong("at", "string", at);
  if (nonce !== undefined && typeof nonce !== "string") return wrong("nonce", "string", nonce);
  if (requester !== undefined && typeof requester !== "string") return wrong("for", "string", requester);
  if (mesh !== undefined && typeof mesh !== "string") return wrong("mesh", "string", mesh);
  const peerList = readList("peers", peers, readPeer);
  if (peerList instanceof Problem) return peerList;
  const steps = in_flight === undefined ? undefined : readList("in_flight", in_flight, readInFlight);
  if (steps instanceof Problem) return steps;
  if (degraded !== undefined && typeof degraded !== "boolean") return wrong("degraded", "boolean", degraded);
  if (unfit !== undefined && unfit !== null && typeof unfit !== "string")
    return wrong("unfit", "string or null", unfit);
  if (seq !== undefined && !isCount(seq)) return wrong("seq", COUNT_TEXT, seq);
  if (elapsed_ms !== undefined && !isCount(elapsed_ms)) return wrong("elapsed_ms", COUNT_TEXT, elapsed_ms);
  const out: MeshViewDoc = { node, at, peers: peerList };
  if (nonce !== undefined) out.nonce = nonce;
  if (requester !== undefined) out.for = requester;
  if (mesh !== undefined) out.mesh = mesh;
  if (steps !== undefined) out.in_flight = steps;
  if (degraded !== undefined) out.degraded = degraded;
  if (unfit !== undefined) out.unfit = unfit;
  if (seq !== undefined) out.seq = seq;
  if (elapsed_ms !== undefined) out.elapsed_ms = elapsed_ms;
  return out;
}

/**
 * Checks that a parsed JSON document is a view: returns it with the declared fields only
 * (unknown ones dropped, at every level), or the first problem: `where` is its path
 * (`peers[0].backs`, "" for the document itself) and `message` what was expected there.
 */
export function parseMeshView(
  doc: unknown,
): { ok: true; view: MeshViewDoc } | { ok: false; where: string; message: string } {
  const r = readView(doc);
  return r instanceof Problem ? { ok: false, where: r.where, message: r.message } : { ok: true, view: r };
}

/**
 * Checks a view answer: proof (mesh key or the member's own signature), the format, node
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
  const parsed = parseMeshView(doc);
  if (!parsed.ok) {
    return {
      ok: false,
      error: `view ${parsed.where === "" ? "body" : parsed.where} is not of the view format (${parsed.message})`,
    };
  }
  const view = parsed.view;
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
