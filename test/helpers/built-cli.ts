// Integration tests that run the built `wdmesh` (npm test builds dist/ first).
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const CLI = fileURLToPath(new URL("../../dist/cli/main.js", import.meta.url));

/** True when dist/ is built. Otherwise fails under CI and skips (with the reason) elsewhere. */
export function haveBuiltCli(t: { skip(reason: string): void }): boolean {
  if (existsSync(CLI)) return true;
  if (process.env.CI) assert.fail(`${CLI} is missing: run npm run build first`);
  t.skip("dist/ not built (npm run build)");
  return false;
}
