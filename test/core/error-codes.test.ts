// Every error code of core/errors.ts is raised somewhere in src/: a code that nothing
// throws is a promise to users (they may match on it) that the product never keeps.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const SRC = fileURLToPath(new URL("../../src/", import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? sourceFiles(p) : name.endsWith(".ts") ? [p] : [];
  });
}

test("every ErrorCode is raised by some file of src/ other than its declaration", () => {
  const decl = readFileSync(join(SRC, "core/errors.ts"), "utf8");
  const union = /export type ErrorCode =([^;]+);/.exec(decl)?.[1] ?? "";
  const codes = [...union.matchAll(/"(WDM_[A-Z_]+)"/g)].map((m) => m[1]);
  assert.ok(codes.length >= 5, `read ${codes.length} codes from core/errors.ts`);
  const users = sourceFiles(SRC).filter((p) => relative(SRC, p) !== join("core", "errors.ts"));
  const rest = decl.replace(union, "") + users.map((p) => readFileSync(p, "utf8")).join("\n");
  const unused = codes.filter((c) => !rest.includes(`"${c}"`));
  assert.deepEqual(unused, [], "drop the code from ErrorCode, or raise it where it applies");
});
