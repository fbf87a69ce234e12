// Signed checkpoints of the journal's hash chain. The chain alone is unkeyed: whoever can
// write the state file can rewrite an entry and recompute every later hash. A node with an
// identity (node.identity, Ed25519) therefore signs its head — (node name, seq, hash) — in
// the same transaction as every commit that appends entries, so each entry is covered by a
// signature as soon as it exists. A valid checkpoint at seq N whose hash is the chain's hash
// at N vouches for entries 1..N (each hash covers every entry before it).
//
// Verification trusts only keys given to it (never the key recorded beside a signature):
// every checkpoint must verify with one of them and match the chain at its seq, and every
// entry must be covered by one (a node with an identity leaves no unsigned tail).
import type { Identity } from "../core/identity.js";
import { parsePublicKey, verifySignature, type PublicIdentity } from "../core/identity.js";
import type { ChainEntry } from "./journal.js";
import type { JournalCheckpoint } from "./types.js";

export type { JournalCheckpoint } from "./types.js";

/** What a checkpoint's signature covers; the prefix keeps it apart from heartbeats and views. */
export function checkpointMessage(node: string, seq: number, hash: string): string {
  return `wdmesh-journal-checkpoint\n${node}\n${seq}\n${hash}`;
}

export function signCheckpoint(
  identity: Pick<Identity, "publicKey" | "sign">,
  node: string,
  seq: number,
  hash: string,
): JournalCheckpoint {
  return {
    node,
    hash,
    public_key: identity.publicKey,
    signature: identity.sign(checkpointMessage(node, seq, hash)),
  };
}

/** Parses trusted public keys (base64, as `wdmesh keygen` prints). Throws WDM_INVALID_OPTION naming `field`. */
export function trustedKeys(keys: readonly string[], field: string): PublicIdentity[] {
  return keys.map((k) => parsePublicKey(k, field));
}

/** What the signature check found, when it ran. */
export interface SignatureCoverage {
  checked: true;
  /** The keys checkpoints were verified with. */
  public_keys: string[];
  /** Checkpoints verified (every one in the journal). */
  checkpoints: number;
  /** The newest signed seq (null: no checkpoint). */
  signed_seq: number | null;
  /** Entries covered by a valid checkpoint (1..signed_seq). */
  covered: number;
  /** Entries after the newest checkpoint (null: none). */
  unsigned_tail: { from: number; to: number } | null;
}

/** Why signatures were not checked, and how many checkpoints the journal holds. */
export interface SignaturesUnchecked {
  checked: false;
  why: string;
  checkpoints: number;
  /** Keys named by the checkpoints found (not trusted: to compare with the node's own). */
  signed_by: string[];
}

export type SignatureReport = SignatureCoverage | SignaturesUnchecked;

/** The first problem found: the seq and why. */
export interface SignatureFailure {
  seq: number;
  reason: string;
}

type SignedEntry = ChainEntry & { checkpoint?: JournalCheckpoint | null };

const short = (s: string): string => `${s.slice(0, 12)}…`;

/**
 * Checks the checkpoints of a journal fed in seq order (page by page): each signature
 * against the trusted keys, and each checkpoint's hash against the entry at its seq.
 * Without keys it only counts them. Pure; works on entries from the store or the HTTP API.
 */
export class CheckpointAudit {
  private readonly keys: PublicIdentity[];
  private readonly why: string;
  private count = 0;
  private signedSeq: number | null = null;
  private lastSeq = 0;
  private readonly signers = new Set<string>();
  private failure: SignatureFailure | undefined;

  /** `keys` empty: signatures are not checked, for the reason `why`. */
  constructor(keys: readonly PublicIdentity[], why = "") {
    this.keys = [...keys];
    this.why = why;
  }

  /** Feeds one entry; returns the first failure (and keeps returning it). */
  add(e: SignedEntry): SignatureFailure | undefined {
    if (this.failure) return this.failure;
    this.lastSeq = e.seq;
    const c = e.checkpoint;
    if (c === undefined || c === null) return undefined;
    this.count++;
    this.signers.add(c.public_key);
    if (this.keys.length === 0) return undefined;
    const message = checkpointMessage(c.node, e.seq, c.hash);
    if (!this.keys.some((k) => verifySignature(k, message, c.signature))) {
      const by = this.keys.some((k) => k.publicKey === c.public_key)
        ? ""
        : ` (it names key ${c.public_key}, which is not a trusted key)`;
      this.failure = {
        seq: e.seq,
        reason: `the signed checkpoint at seq ${e.seq} does not verify with ${this.keyNames()}${by}: the checkpoint was forged or altered`,
      };
      return this.failure;
    }
    if (c.hash !== e.hash) {
      this.failure = {
        seq: e.seq,
        reason: `the signed checkpoint at seq ${e.seq} vouches for hash ${short(c.hash)} but the entry's hash is now ${short(e.hash)}: this entry or an earlier one was rewritten after it was signed`,
      };
      return this.failure;
    }
    this.signedSeq = e.seq;
    return undefined;
  }

  private keyNames(): string {
    return this.keys.length === 1
      ? `the trusted key ${this.keys[0]?.publicKey ?? ""}`
      : `any of the ${this.keys.length} trusted keys`;
  }

  /**
   * The coverage after every entry was fed, or the failure: a bad checkpoint, or entries no
   * checkpoint covers (a node with an identity signs at every commit, so an unsigned tail
   * means checkpoints were removed or the entries were written without the identity).
   */
  result():
    | { ok: true; signatures: SignatureReport }
    | ({ ok: false; signatures: SignatureReport } & SignatureFailure) {
    if (this.keys.length === 0) {
      return {
        ok: true,
        signatures: { checked: false, why: this.why, checkpoints: this.count, signed_by: [...this.signers] },
      };
    }
    const tail =
      this.lastSeq > (this.signedSeq ?? 0) ? { from: (this.signedSeq ?? 0) + 1, to: this.lastSeq } : null;
    const signatures: SignatureCoverage = {
      checked: true,
      public_keys: this.keys.map((k) => k.publicKey),
      checkpoints: this.count,
      signed_seq: this.signedSeq,
      covered: this.signedSeq ?? 0,
      unsigned_tail: tail,
    };
    if (this.failure) return { ok: false, signatures, ...this.failure };
    if (tail) {
      const what =
        this.signedSeq === null
          ? `no signed checkpoint: entries ${range(tail)} are not covered`
          : `entries ${range(tail)} after the last signed checkpoint (seq ${this.signedSeq}) are not covered`;
      return {
        ok: false,
        signatures,
        seq: tail.from,
        reason: `${what}; a node with node.identity signs its journal at every commit, so checkpoints were removed, or these entries were written without the identity`,
      };
    }
    return { ok: true, signatures };
  }
}

function range(t: { from: number; to: number }): string {
  return t.from === t.to ? `${t.from}` : `${t.from}-${t.to}`;
}
