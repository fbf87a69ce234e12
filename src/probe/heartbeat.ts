// Authenticated heartbeat of a wdmesh node: GET <url>/health?nonce=<random hex>,
// expecting {"status":"ok","node":NAME,"proof":hex HMAC-SHA256(key, "NAME:nonce")}.
// Runs on the HTTP probe's client: same Agent, same single deadline, same body cap.
import { freshNonce, verifyHmacHex } from "../core/hmac.js";
import type { HeartbeatProbeSpec } from "../core/options.js";
import type { ProbeResult } from "../core/types.js";
import { oneLine } from "./errors.js";
import { parsePublicKey, verifySignature, type PublicIdentity } from "../core/identity.js";
import { heartbeatMessage, verifyHeartbeatProof } from "./heartbeat-proof.js";
import { compileHttpTarget, failedGet, type HttpClient, type HttpTarget } from "./http.js";
import { withoutTrailingSlash } from "../core/base-url.js";

const IMPOSTOR = "(impostor on this port?)";

/** "<base>/health" of a node's base URL, e.g. http://127.0.0.1:9760 → /health. */
export function heartbeatUrl(baseUrl: string): string {
  return `${withoutTrailingSlash(baseUrl)}/health`;
}

const targets = new WeakMap<HeartbeatProbeSpec, HttpTarget | string>();

function targetOf(spec: HeartbeatProbeSpec): HttpTarget | string {
  let t = targets.get(spec);
  if (t === undefined) {
    t = compileHttpTarget(heartbeatUrl(spec.url));
    if (typeof t !== "string" && t.path.includes("?")) t = "invalid URL: a node URL has no query string";
    targets.set(spec, t);
  }
  return t;
}

const publicKeys = new Map<string, PublicIdentity>();
/** The parsed public key, parsed once per distinct key. */
function publicIdentity(b64: string): PublicIdentity {
  let p = publicKeys.get(b64);
  if (!p) {
    p = parsePublicKey(b64);
    publicKeys.set(b64, p);
  }
  return p;
}

/** Checks a /health answer against the expected node and nonce; returns the miss reason or undefined. */
export function checkHeartbeatBody(
  body: Buffer,
  spec: HeartbeatProbeSpec,
  nonce: string,
): string | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString("utf8"));
  } catch {
    return `heartbeat proof invalid: response is not JSON ${IMPOSTOR}`;
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
    return `heartbeat proof invalid: response is not a JSON object ${IMPOSTOR}`;
  }
  const d = doc as Record<string, unknown>;
  if (d.node !== spec.node) {
    const got = typeof d.node === "string" ? JSON.stringify(oneLine(d.node, 64)) : "missing";
    return `heartbeat proof invalid: node is ${got}, expected ${JSON.stringify(spec.node)} ${IMPOSTOR}`;
  }
  if (spec.publicKey !== undefined) {
    // The node's own identity: only its signature counts (a leaked mesh key is no help).
    if (typeof d.signature !== "string") {
      return `heartbeat proof invalid: no identity signature in the answer ${IMPOSTOR}`;
    }
    const msg = heartbeatMessage(spec.node, spec.from ?? "", nonce, spec.mesh ?? "");
    if (!verifySignature(publicIdentity(spec.publicKey), msg, d.signature)) {
      return `heartbeat proof invalid: signature does not match the node's public key ${IMPOSTOR}`;
    }
  } else {
    if (d.proof === undefined) return `heartbeat proof invalid: no proof in the answer ${IMPOSTOR}`;
    const proven =
      spec.from === undefined
        ? verifyHeartbeatProof(spec.key ?? "", spec.node, nonce, d.proof)
        : verifyHmacHex(
            spec.key ?? "",
            heartbeatMessage(spec.node, spec.from, nonce, spec.mesh ?? ""),
            d.proof,
          );
    if (!proven) {
      return `heartbeat proof invalid: proof does not match the mesh key ${IMPOSTOR}`;
    }
  }
  if (d.status !== "ok") {
    const got = typeof d.status === "string" ? JSON.stringify(oneLine(d.status, 64)) : "missing";
    return `heartbeat status ${got} (expected "ok")`;
  }
  return undefined;
}

/** Heartbeat probe. Never throws, never rejects; the key never appears in an error. */
export async function probeHeartbeat(
  client: HttpClient,
  spec: HeartbeatProbeSpec,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<ProbeResult> {
  const base = targetOf(spec);
  if (typeof base === "string") return { ok: false, duration_ms: 0, error: base };
  if ((typeof spec.key !== "string" || spec.key === "") && spec.publicKey === undefined) {
    return { ok: false, duration_ms: 0, error: "heartbeat: no mesh key configured" };
  }
  const nonce = freshNonce();
  const from = spec.from !== undefined ? `&from=${encodeURIComponent(spec.from)}` : "";
  const out = await client.get(
    { ...base, path: `${base.path}?nonce=${nonce}${from}` },
    { timeoutMs, signal, expectStatus: 200, collectBody: true },
  );
  if (out.error !== undefined) return failedGet(out, out.error);
  const bad = checkHeartbeatBody(out.body ?? Buffer.alloc(0), spec, nonce);
  return bad === undefined
    ? { ok: true, duration_ms: out.duration_ms }
    : { ok: false, duration_ms: out.duration_ms, error: bad };
}
