// The layers hold: a file of src/ imports only from its own layer or from the layers
// listed before it (ARCHITECTURE.md, "The layers"). Every import of every src/**/*.ts is
// read (static, type-only, re-exports and dynamic import()), so an upward import fails
// here, naming the file, the import and the rule, as defaults.test.ts guards defaults.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, posix, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SRC = join(ROOT, "src");

/**
 * The layer order, lowest first: each entry may import from itself and the entries
 * before it. A directory of src/ ends in "/", a file at src/'s root is named as is.
 * ARCHITECTURE.md's table lists the same layers in the same order (checked below).
 */
const LAYERS = [
  "core/",
  "http/",
  "engine/",
  "probe/",
  "schedule/",
  "health/",
  "act/",
  "store/",
  "ledger/",
  "effects/",
  "alert/",
  "mesh/",
  "fleet/",
  "monitor-options.ts",
  "monitor-peer.ts",
  "monitor-journal.ts",
  "monitor-step.ts",
  "monitor-across.ts",
  "monitor-self.ts",
  "monitor.ts",
  "discovery/",
  "api/",
  "config/",
  "reload.ts",
  "daemon.ts",
  "demo/",
  "cli/",
  "index.ts",
  "ladder.ts",
  "testing/",
] as const;

/** The layer of a path relative to src/ ("mesh/routes.ts" → "mesh/"). */
function layerOf(path: string): string {
  const slash = path.indexOf("/");
  return slash === -1 ? path : path.slice(0, slash + 1);
}

interface Import {
  /** The importing file, relative to src/ (posix separators). */
  from: string;
  /** The import as written. */
  specifier: string;
  /** The imported file, relative to src/ (`.js` read as `.ts`). */
  to: string;
}

/** Every relative import of one file's text. */
function importsOf(from: string, text: string): Import[] {
  const found = ts.preProcessFile(text, true, true).importedFiles.map((f) => f.fileName);
  return found
    .filter((s) => s.startsWith("."))
    .map((specifier) => ({
      from,
      specifier,
      to: posix.normalize(posix.join(posix.dirname(from), specifier)).replace(/\.js$/, ".ts"),
    }));
}

/** One line per import that breaks the layer order (empty when the layers hold). */
function layerViolations(imports: readonly Import[], order: readonly string[] = LAYERS): string[] {
  const rank = (layer: string): number => order.indexOf(layer);
  const out: string[] = [];
  for (const imp of imports) {
    const a = layerOf(imp.from);
    const b = layerOf(imp.to);
    if (rank(a) === -1) {
      out.push(
        `src/${imp.from}: its layer ${a} is not in the layer order; add it to LAYERS and to ARCHITECTURE.md's table`,
      );
    } else if (imp.to.startsWith("../")) {
      out.push(`src/${imp.from} imports "${imp.specifier}", outside src/`);
    } else if (rank(b) === -1) {
      out.push(
        `src/${imp.from} imports "${imp.specifier}": layer ${b} is not in the layer order; add it to LAYERS and to ARCHITECTURE.md's table`,
      );
    } else if (rank(b) > rank(a)) {
      out.push(
        `src/${imp.from} imports "${imp.specifier}" (layer ${b}), but ${a} comes before ${b} in the layer order: ` +
          `a layer imports only from itself and the layers listed before it (ARCHITECTURE.md, "The layers"); ` +
          `move what both need down to a lower layer`,
      );
    }
  }
  return out;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sourceFiles(p));
    else if (name.endsWith(".ts")) out.push(p);
  }
  return out;
}

function srcImports(): Import[] {
  return sourceFiles(SRC).flatMap((p) =>
    importsOf(relative(SRC, p).split(sep).join("/"), readFileSync(p, "utf8")),
  );
}

test("no file of src/ imports from a layer above its own", () => {
  const imports = srcImports();
  // Not vacuous: the walk reads hundreds of imports, across layers.
  assert.ok(imports.length > 300, `only ${imports.length} imports read from src/`);
  assert.ok(imports.some((i) => layerOf(i.from) !== layerOf(i.to)));
  assert.deepEqual(layerViolations(imports), []);
});

test("every directory and root file of src/ has its place in the layer order", () => {
  const entries = readdirSync(SRC)
    .filter((n) => n.endsWith(".ts") || statSync(join(SRC, n)).isDirectory())
    .map((n) => (n.endsWith(".ts") ? n : `${n}/`));
  const unplaced = entries.filter((e) => !(LAYERS as readonly string[]).includes(e));
  assert.deepEqual(unplaced, [], "add each to LAYERS (lowest first) and to ARCHITECTURE.md's table");
});

test("ARCHITECTURE.md's table lists the layers in this order", () => {
  const text = readFileSync(join(ROOT, "ARCHITECTURE.md"), "utf8");
  const rows = [...text.matchAll(/^\| `src\/([^`]+)`/gm)].map((m) => m[1]);
  assert.deepEqual(rows, [...LAYERS]);
});

test("an upward import is caught, with the file, the import and the rule", () => {
  const bad = importsOf("probe/heartbeat.ts", 'import { x } from "../mesh/identity.js";');
  const typeOnly = importsOf("mesh/routes.ts", 'import type { T } from "../api/auth.js";');
  const dynamic = importsOf("core/a.ts", 'const m = await import("../store/db.js");');
  const reexport = importsOf("http/a.ts", 'export { y } from "../api/b.js";');
  const ok = importsOf("mesh/gate.ts", 'import { z } from "../core/hmac.js";\nimport "./views.js";');
  assert.deepEqual(layerViolations(ok), []);
  const found = layerViolations([...bad, ...typeOnly, ...dynamic, ...reexport]);
  assert.equal(found.length, 4);
  const [first = ""] = found;
  assert.match(
    first,
    /^src\/probe\/heartbeat\.ts imports "\.\.\/mesh\/identity\.js" \(layer mesh\/\), but probe\/ comes before mesh\//,
  );
  assert.match(first, /imports only from itself and the layers listed before it/);
  assert.match(
    layerViolations(importsOf("nowhere/x.ts", 'import "../core/a.js";')).join("\n"),
    /not in the layer order/,
  );
});
