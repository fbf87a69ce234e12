// Who may read a node's view (GET /v1/mesh/view): a member that proves who it is, or a
// holder of read_token (checked by the API server). A member signs its request:
//   X-Wdmesh-From: <its node name>
//   X-Wdmesh-Timestamp: <unix ms>
//   X-Wdmesh-Signature: hmac-sha256=<hex>   over the mesh key, or
//                       ed25519=<base64>    with its own identity key
// over "wdmesh-view-request\n<from>\n<to>\n<timestamp>\n<nonce>". The serving node
// accepts a timestamp within ±60 s of its clock and each signature once, so a recorded
// request cannot be replayed; the nonce is the one the view will echo.
import type { IncomingHttpHeaders } from "node:http";
import { hmacSha256, verifyHmacHex } from "../core/hmac.js";
import { verifySignature, type Identity, type PublicIdentity } from "../core/identity.js";

export const FROM_HEADER = "x-wdmesh-from";
export const TIMESTAMP_HEADER = "x-wdmesh-timestamp";
export const SIGNATURE_HEADER = "x-wdmesh-signature";
/** Largest difference between the requester's timestamp and this node's clock, ms. */
export const VIEW_REQUEST_SKEW_MS = 60_000;
/** Most remembered signatures (replay protection); the oldest are forgotten first. */
const MAX_SEEN = 10_000;

export function viewRequestMessage(from: string, to: string, timestampMs: number, nonce: string): string {
  return `wdmesh-view-request\n${from}\n${to}\n${timestampMs}\n${nonce}`;
}

/** How a member signs: with its own identity when it has one, else with the mesh key. */
export interface RequestSigner {
  key?: string;
  identity?: Identity;
}

/** The headers of a signed view request from `from` to member `to`. */
export function signViewRequest(
  signer: RequestSigner,
  from: string,
  to: string,
  nonce: string,
  nowMs: number,
): Record<string, string> {
  const msg = viewRequestMessage(from, to, nowMs, nonce);
  let sig: string;
  if (signer.identity) sig = `ed25519=${signer.identity.sign(msg)}`;
  else if (signer.key) sig = `hmac-sha256=${hmacSha256(signer.key, msg).toString("hex")}`;
  else throw new Error("signViewRequest: neither a mesh key nor an identity");
  return {
    [FROM_HEADER]: from,
    [TIMESTAMP_HEADER]: String(nowMs),
    [SIGNATURE_HEADER]: sig,
  };
}

export interface ViewRequestVerifierOptions {
  /** This node's name (the `to` of the signed message). */
  self: string;
  /** The shared mesh key, when there is one. */
  key?: string;
  /** The members; a member with a public key must sign with its identity. */
  members: ReadonlyArray<{ name: string; publicKey?: PublicIdentity }>;
}

/**
 * One spelling per verified signature, so a replay is recognised however it is written:
 * hex is read in either case, and base64 ignores the unused bits of its last character.
 */
function canonicalSignature(sig: string): string {
  const eq = sig.indexOf("=");
  const scheme = sig.slice(0, eq);
  const value = sig.slice(eq + 1);
  return scheme === "ed25519"
    ? `${scheme}=${Buffer.from(value, "base64").toString("base64")}`
    : `${scheme}=${value.toLowerCase()}`;
}

const one = (v: string | string[] | undefined): string | undefined => (typeof v === "string" ? v : undefined);

/** Checks signed view requests; remembers signatures it accepted so none is accepted twice. */
export class ViewRequestVerifier {
  private readonly members: Map<string, PublicIdentity | undefined>;
  private readonly seen = new Map<string, number>();

  constructor(private readonly opts: ViewRequestVerifierOptions) {
    this.members = new Map(opts.members.map((m) => [m.name, m.publicKey]));
  }

  /** Why the request is not from a member that proved itself; undefined when it is. */
  problem(headers: IncomingHttpHeaders, nonce: string | undefined, nowMs: number): string | undefined {
    const from = one(headers[FROM_HEADER]);
    const ts = one(headers[TIMESTAMP_HEADER]);
    const sig = one(headers[SIGNATURE_HEADER]);
    if (from === undefined || ts === undefined || sig === undefined) {
      return "the mesh view is served only to members that sign their request, or with the read token";
    }
    if (nonce === undefined) return "a signed view request needs ?nonce=";
    if (!this.members.has(from)) return "the signed view request is not from a member of this node's mesh";
    if (!/^\d{1,16}$/.test(ts) || Math.abs(Number(ts) - nowMs) > VIEW_REQUEST_SKEW_MS) {
      return `the view request's timestamp is more than ${VIEW_REQUEST_SKEW_MS / 1000} s from this node's clock (check both clocks)`;
    }
    const msg = viewRequestMessage(from, this.opts.self, Number(ts), nonce);
    const pub = this.members.get(from);
    let ok = false;
    if (sig.startsWith("ed25519=")) {
      ok = pub !== undefined && verifySignature(pub, msg, sig.slice("ed25519=".length));
    } else if (sig.startsWith("hmac-sha256=") && this.opts.key && pub === undefined) {
      ok = verifyHmacHex(this.opts.key, msg, sig.slice("hmac-sha256=".length));
    }
    if (!ok) return "the view request's signature does not verify";
    this.forgetOld(nowMs);
    const once = canonicalSignature(sig);
    if (this.seen.has(once)) return "the view request was already used (replayed)";
    this.seen.set(once, Number(ts) + VIEW_REQUEST_SKEW_MS);
    return undefined;
  }

  private forgetOld(nowMs: number): void {
    for (const [s, until] of this.seen) {
      if (until < nowMs || this.seen.size >= MAX_SEEN) this.seen.delete(s);
      else break;
    }
  }
}
