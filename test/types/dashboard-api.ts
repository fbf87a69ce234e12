// Compile-time check, run by `npm run typecheck` (no test runner involved): the GET /v1/mesh
// shape the dashboard is typed against (web/api-types.d.ts, restated there because the
// dashboard's type check has no Node.js types) is exactly the one the API serves.
import type { MeshMemberView, MeshView } from "../../src/mesh/mesh-node.js";
import type * as Dashboard from "../../web/api-types.js";

/** true when A and B are the same type (not merely assignable one way). */
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

export const _meshViewIsTheApis: Same<Dashboard.MeshView, MeshView> = true;
export const _meshMemberViewIsTheApis: Same<Dashboard.MeshMemberView, MeshMemberView> = true;
