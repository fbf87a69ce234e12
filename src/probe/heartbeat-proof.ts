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
 * What a mesh node signs (with its own identity) or proves (HMAC under the mesh key) for
 * GET /health?nonce=N&from=R: bound to its own name, the requester's name, its mesh's
 * identity and the requester's nonce, so the answer proves "node NAME of mesh M answered
 * R's probe N" and is worth nothing for any other probe, requester or mesh.
 */
export function heartbeatMessage(node: string, requester: string, nonce: string, mesh = ""): string {
  return `wdmesh-health\n${node}\n${requester}\n${mesh}\n${nonce}`;
}

/** hex HMAC-SHA256(key, heartbeatMessage(...)): the `proof` a mesh node gives a member that says who it is. */
export function boundHeartbeatProof(
  key: string,
  node: string,
  requester: string,
  nonce: string,
  mesh: string,
): string {
  return hmacSha256(key, heartbeatMessage(node, requester, nonce, mesh)).toString("hex");
}
