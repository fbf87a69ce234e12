// Bundles the package root (dist/index.js, emitted by tsc) into one ES module, in place.
// Node's ESM loader costs about 0.1 MB per module: the root as ~50 files cost ~6 MB of RSS at
// import, one file ~1 MB. npm dependencies and node: builtins stay external. Dynamic imports
// that are lazy in the sources (the config loader, node:https) stay lazy: with splitting, each
// becomes a chunk in dist/chunks/ that shares one copy of every class with the entry, so
// `instanceof ConfigError` holds for an error thrown by the lazily loaded code.
// The subpath watchdog-mesh/ladder (dist/ladder.js, the ladder reducer) is bundled on its own,
// without chunks: sharing chunks with the root would add modules to every root import. It
// carries its own copy of the few pure functions it needs; the reducer throws nothing, so no
// caller compares its errors with the root's classes.
// Types still come from tsc (dist/index.d.ts, dist/ladder.d.ts); the CLI (dist/cli/) stays unbundled.
import { readFileSync, rmSync } from "node:fs";
import { build } from "esbuild";

const chunks = "dist/chunks";
if (readFileSync("dist/index.js", "utf8").includes('"./chunks/')) {
  throw new Error("dist/index.js is already bundled: run tsc first (npm run build)");
}
rmSync(chunks, { recursive: true, force: true });

await build({
  entryPoints: { index: "dist/index.js" },
  outdir: "dist",
  chunkNames: "chunks/[name]-[hash]",
  allowOverwrite: true,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  packages: "external",
  sourcemap: true,
  logLevel: "warning",
});

await build({
  entryPoints: { ladder: "dist/ladder.js" },
  outdir: "dist",
  allowOverwrite: true,
  bundle: true,
  format: "esm",
  platform: "node",
  target: "node20",
  packages: "external",
  sourcemap: true,
  logLevel: "warning",
});
