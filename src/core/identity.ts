// Per-node identities: an Ed25519 key pair per node (node:crypto). A node signs its
// heartbeat proofs, its views and its view requests with its own private key; the
// others verify with the public key listed for it (mesh.members[].public_key). A
// leaked private key lets its holder pass for that one node, not for every node as a
// leaked shared mesh key does.
//
// Formats: the private key is PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----", what
// `wdmesh keygen` and `openssl genpkey -algorithm ed25519` write); the public key is
// the raw 32 bytes in base64 (44 characters), short enough for the config file.
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
  type KeyObject,
} from "node:crypto";
import { InvalidOptionError } from "./errors.js";

/** DER prefix of an Ed25519 SubjectPublicKeyInfo; the raw 32-byte key follows. */
const SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");
const RAW_PUBLIC_BYTES = 32;

/** A node's own key pair. */
export interface Identity {
  /** Its public key, base64 of the raw 32 bytes (what the other nodes list). */
  readonly publicKey: string;
  /** Base64 Ed25519 signature of `message` (UTF-8). */
  sign(message: string): string;
}

/** Another node's public key. */
export interface PublicIdentity {
  readonly publicKey: string;
  readonly key: KeyObject;
}

function rawPublic(key: KeyObject): string {
  const der = key.export({ type: "spki", format: "der" });
  return der.subarray(der.length - RAW_PUBLIC_BYTES).toString("base64");
}

/** A new key pair: the private key as PKCS#8 PEM and the public key as base64. */
export function generateIdentity(): { privatePem: string; publicKey: string } {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  return {
    privatePem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    publicKey: rawPublic(publicKey),
  };
}

/** Why `pem` is not an Ed25519 private key, or undefined when it is. */
export function identityProblem(pem: string): string | undefined {
  try {
    loadIdentity(pem, "identity");
    return undefined;
  } catch (e) {
    return (e as Error).message.replace(/^identity: /, "");
  }
}

/** The identity of a PKCS#8 PEM Ed25519 private key. Throws WDM_INVALID_OPTION naming `field`. */
export function loadIdentity(pem: string, field = "mesh.identity"): Identity {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: "pem" });
  } catch {
    throw new InvalidOptionError(
      field,
      "is not a PEM private key; create one with `wdmesh keygen --out FILE` (or openssl genpkey -algorithm ed25519)",
    );
  }
  if (key.asymmetricKeyType !== "ed25519") {
    throw new InvalidOptionError(
      field,
      `is a ${key.asymmetricKeyType ?? "unknown"} key; an Ed25519 key is needed (wdmesh keygen writes one)`,
    );
  }
  const publicKey = rawPublic(createPublicKey(key));
  return {
    publicKey,
    sign: (message) => sign(null, Buffer.from(message, "utf8"), key).toString("base64"),
  };
}

/** Why `b64` is not an Ed25519 public key (base64 of 32 bytes), or undefined. */
export function publicKeyProblem(b64: string): string | undefined {
  if (!/^[A-Za-z0-9+/]{43}=$/.test(b64)) {
    return "must be an Ed25519 public key: 44 base64 characters, as printed by `wdmesh keygen`";
  }
  return undefined;
}

/** Parses a base64 raw Ed25519 public key. Throws WDM_INVALID_OPTION naming `field`. */
export function parsePublicKey(b64: string, field = "mesh.members[].publicKey"): PublicIdentity {
  const problem = publicKeyProblem(b64);
  if (problem) throw new InvalidOptionError(field, problem);
  const key = createPublicKey({
    key: Buffer.concat([SPKI_PREFIX, Buffer.from(b64, "base64")]),
    format: "der",
    type: "spki",
  });
  return { publicKey: b64, key };
}

/** True when `signatureB64` is `pub`'s signature of `message`. Never throws. */
export function verifySignature(pub: PublicIdentity, message: string, signatureB64: string): boolean {
  if (!/^[A-Za-z0-9+/]{86}==$/.test(signatureB64)) return false;
  try {
    return verify(null, Buffer.from(message, "utf8"), pub.key, Buffer.from(signatureB64, "base64"));
  } catch {
    return false;
  }
}

/** The public key of a private key PEM, or undefined when it is not one. */
export function ownPublicKey(pem: string): string | undefined {
  try {
    return loadIdentity(pem, "identity").publicKey;
  } catch {
    return undefined;
  }
}

/**
 * Members whose public key another member (or this node, `own`) already has: one holder
 * of that key would count as several nodes. `first` is the earlier member's index (-1:
 * this node's own key). Keys are compared as bytes (base64 spelling aside).
 */
export function duplicateKeys(
  keys: ReadonlyArray<string | undefined>,
  own?: string,
): Array<{ index: number; first: number }> {
  const bytes = (k: string): string => Buffer.from(k, "base64").toString("hex");
  const seen = new Map<string, number>();
  if (own !== undefined) seen.set(bytes(own), -1);
  const out: Array<{ index: number; first: number }> = [];
  keys.forEach((k, index) => {
    if (k === undefined || publicKeyProblem(k) !== undefined) return;
    const first = seen.get(bytes(k));
    if (first === undefined) seen.set(bytes(k), index);
    else out.push({ index, first });
  });
  return out;
}
