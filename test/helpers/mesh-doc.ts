// Reading a node's GET /v1/mesh answer in tests: when has the mesh settled?

/** A member as GET /v1/mesh lists it. */
export interface MeshMember {
  name: string;
  status: string;
  view_age_ms: number | null;
  /** The member's clock minus this node's, ms; null until measured. */
  clock_offset_ms?: number | null;
}

/** The members GET /v1/mesh of the node on loopback `port` lists; [] while it does not answer. */
export async function meshMembers(port: number): Promise<MeshMember[]> {
  const r = await fetch(`http://127.0.0.1:${port}/v1/mesh`).catch(() => null);
  return r?.ok ? ((await r.json()) as { members: MeshMember[] }).members : [];
}

/**
 * True when `doc` (a node's GET /v1/mesh answer, or undefined when it did not answer)
 * lists `count` members, each HEALTHY with a view at most three probe intervals
 * (`intervalMs`) old.
 */
export function membersSettled(doc: unknown, count: number, intervalMs: number): boolean {
  const members = (doc as { members?: MeshMember[] } | null | undefined)?.members;
  return (
    members?.length === count &&
    members.every(
      (m) => m.status === "HEALTHY" && typeof m.view_age_ms === "number" && m.view_age_ms <= 3 * intervalMs,
    )
  );
}
