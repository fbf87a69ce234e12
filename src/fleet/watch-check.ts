// Whether the fleet's watch still keeps this node's copy of the prefix current. A watch
// whose stream went to an etcd member that was then cut off stalls without an error (the
// connection just stops answering), and the copy would go stale while the lease is kept
// through the other members. After each renewal the node reads one key of the prefix (the
// newest by mod revision) and how many there are, and compares them with its copy; a copy
// found behind twice in a row is read again whole.

/** What the node holds of one key: the revision it last applied; kv null once deleted. */
export interface CopiedKey {
  rev: bigint;
  kv: unknown;
}

/** etcd's answer to a range of the prefix sorted by mod revision, newest first, limit 1. */
export interface NewestKey {
  /** Keys in the prefix (etcd's count, whatever the limit). */
  count: number;
  newest?: { key: string; modRevision: bigint };
}

/** True when the copy is behind etcd: a key it has not seen at that revision, or another number of keys. */
export function copyBehind(copy: ReadonlyMap<string, CopiedKey>, etcd: NewestKey): boolean {
  let live = 0;
  for (const e of copy.values()) if (e.kv) live++;
  if (live !== etcd.count) return true;
  if (!etcd.newest) return false;
  const mine = copy.get(etcd.newest.key);
  return mine === undefined || mine.rev < etcd.newest.modRevision;
}
