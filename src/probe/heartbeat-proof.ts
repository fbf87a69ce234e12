// Proof of a wdmesh heartbeat (the API's GET /health with a nonce): a node answering GET /health?nonce=N proves it
// holds the mesh key with proof = hex HMAC-SHA256(key, "NAME:N"). The nonce is fresh per
// probe, so a recorded answer cannot be replayed, and an impostor on the port cannot
// answer for the node.
import { hmacSha256, verifyHmacHex } from "../core/hmac.js";

/** hex HMAC-SHA256(key, `${node}:${nonce}`) — what a node puts in `proof`. */
export function heartbeatProof(key: string, node: string, nonce: string): string {
  return hmacSha256(key, `${node}:${nonce}`).toString("hex");
}

/** True when `proof` is the proof of `node` for `nonce` under `key`; compared in constant time. */
export function verifyHeartbeatProof(key: string, node: string, nonce: string, proof: unknown): boolean {
  return verifyHmacHex(key, `${node}:${nonce}`, proof);
}

/**
 * What a node with its own identity signs for GET /health?nonce=N&from=R: bound to its
 * own name, the requester's name and the requester's nonce, so the signature proves
 * "node NAME answered R's probe N" and is worth nothing for any other probe.
 */
export function heartbeatMessage(node: string, requester: string, nonce: string): string {
  return `wdmesh-health\n${node}\n${requester}\n${nonce}`;
}
