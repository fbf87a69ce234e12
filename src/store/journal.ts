// The journal's hash chain: canonical JSON of an entry, the link hash, and a pure
// verifier that works from JSON entries alone (store table or the HTTP API).
//
//   hash = sha256_hex(prev_hash + canonical(entry))
//   canonical(entry) = the entry without `result`, `deliveries`, `checkpoint`, `seq`, `prev_hash`,
//                      `hash`, object keys sorted recursively, JSON.stringify (no spaces).
// `result` (the effect's outcome) and `deliveries` (where each sink's alert stands)
// change after the entry is written, so they are merged at read time, never hashed;
// so is `checkpoint`, the node's signature of the chain at that seq (journal-signing.ts).
// The first entry (seq 1) links to GENESIS_HASH (64 zeros).
import { createHash } from "node:crypto";
import type { EscalationAction } from "../core/types.js";

export const GENESIS_HASH = "0".repeat(64);

/** Fields of a journal entry that are not part of the hashed content. */
const UNHASHED_KEYS = new Set(["result", "deliveries", "checkpoint", "seq", "prev_hash", "hash"]);

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[k];
      if (v !== undefined) out[k] = sortKeys(v);
    }
    return out;
  }
  return value;
}

/** Canonical JSON of a journal entry: what its hash covers. */
export function canonicalEntry(entry: object | EscalationAction): string {
  const content: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(entry)) {
    if (!UNHASHED_KEYS.has(k)) content[k] = v;
  }
  return JSON.stringify(sortKeys(content));
}

export function linkHash(prevHash: string, canonical: string): string {
  return createHash("sha256").update(prevHash).update(canonical).digest("hex");
}

/** The minimum a verifier needs: the entry's fields plus its chain links. */
export type ChainEntry = {
  readonly seq: number;
  readonly prev_hash: string;
  readonly hash: string;
};

export type VerifyResult =
  | { ok: true; checked: number }
  /** `seq` is the first entry whose link is broken; `checked` entries before it were fine. */
  | { ok: false; checked: number; seq: number; reason: string };

export interface VerifyOptions {
  /**
   * The hash the first entry must link to. Default: GENESIS_HASH when the first entry
   * is seq 1; otherwise the first entry's own prev_hash is trusted (a partial check
   * of a window of the journal).
   */
  anchor?: string;
}

/**
 * Checks a run of journal entries in seq order. Pure: works on entries read from the
 * store or fetched over the HTTP API. Names the first broken link.
 */
export function verifyChain(entries: readonly ChainEntry[], opts: VerifyOptions = {}): VerifyResult {
  let prev: ChainEntry | undefined;
  let checked = 0;
  for (const e of entries) {
    const seq = e.seq;
    if (!Number.isSafeInteger(seq) || seq < 1) {
      return { ok: false, checked, seq: Number(seq), reason: `seq ${String(seq)} is not a positive integer` };
    }
    if (typeof e.prev_hash !== "string" || typeof e.hash !== "string") {
      return { ok: false, checked, seq, reason: `entry seq ${seq} has no prev_hash/hash strings` };
    }
    let expectedPrev: string;
    let prevName: string;
    if (prev === undefined) {
      if (opts.anchor !== undefined) {
        expectedPrev = opts.anchor;
        prevName = "the given anchor";
      } else if (seq === 1) {
        expectedPrev = GENESIS_HASH;
        prevName = "the genesis hash (64 zeros)";
      } else {
        expectedPrev = e.prev_hash;
        prevName = "itself (window start)";
      }
    } else {
      expectedPrev = prev.hash;
      prevName = `the hash of entry seq ${prev.seq}`;
    }
    const gap = prev !== undefined && seq !== prev.seq + 1;
    if (prev !== undefined && seq <= prev.seq) {
      return {
        ok: false,
        checked,
        seq,
        reason: `entry seq ${seq} follows seq ${prev.seq}: entries are out of order`,
      };
    }
    if (e.prev_hash !== expectedPrev) {
      const missing =
        gap && prev !== undefined ? ` (entries seq ${prev.seq + 1}..${seq - 1} are missing)` : "";
      return {
        ok: false,
        checked,
        seq,
        reason: `prev_hash of entry seq ${seq} does not match ${prevName}${missing}`,
      };
    }
    if (gap && prev !== undefined) {
      return {
        ok: false,
        checked,
        seq,
        reason: `entry seq ${seq} follows seq ${prev.seq}: entries seq ${prev.seq + 1}..${seq - 1} are missing`,
      };
    }
    const actual = linkHash(e.prev_hash, canonicalEntry(e));
    if (actual !== e.hash) {
      return {
        ok: false,
        checked,
        seq,
        reason: `hash of entry seq ${seq} does not match its content (the entry or its hash was changed)`,
      };
    }
    prev = e;
    checked++;
  }
  return { ok: true, checked };
}
