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
// The subpath watchdog-mesh/testing (dist/testing.js, dist/cjs/testing.js: fakes and a mesh of
// in-process nodes for the tests of an embedding agent) is bundled on its own too, with the
// package root left external: it imports the root's own Monitor (./index.js beside it, in
// each format), so its instances and errors are the root's classes.
// Types still come from tsc (dist/index.d.ts, dist/ladder.d.ts, dist/testing/index.d.ts); the CLI (dist/cli/) stays unbundled.
// The same root is also bundled as CommonJS (dist/cjs/index.js, the `require` condition of the
// package's exports): Node 20 cannot require() an ES module, and a CommonJS project (what
// `npm init -y` makes) would otherwise fail with ERR_PACKAGE_PATH_NOT_EXPORTED. The CommonJS
// bundle holds its lazily loaded parts inline (CommonJS has no chunks) and has its own copy of
// every class: load the package one way per process. dist/cjs/ is marked CommonJS by its own
// package.json and holds a copy of the declarations, so TypeScript's node16/nodenext
// resolution reads them as CommonJS types (the ES ones would be refused by a require).
import { cpSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { build } from "esbuild";

const chunks = "dist/chunks";
const cjs = "dist/cjs";
if (readFileSync("dist/index.js", "utf8").includes('"./chunks/')) {
  throw new Error("dist/index.js is already bundled: run tsc first (npm run build)");
}
rmSync(chunks, { recursive: true, force: true });
/** What every bundle below shares: Node 20, dependencies left to node_modules. */
const common = {
  bundle: true,
  platform: "node",
  target: "node20",
  packages: "external",
  sourcemap: true,
  logLevel: "warning",
};

// CommonJS first, from tsc's unbundled output (the ES build below replaces dist/index.js).
rmSync(cjs, { recursive: true, force: true });
await build({
  entryPoints: { index: "dist/index.js" },
  outdir: cjs,
  ...common,
  format: "cjs",
  keepNames: true,
  // store/sqlite-driver.ts uses the module's own `require` where there is one and reaches
  // import.meta.url only in the ES build.
  logOverride: { "empty-import-meta": "silent" },
});

await build({
  entryPoints: { index: "dist/index.js" },
  outdir: "dist",
  chunkNames: "chunks/[name]-[hash]",
  allowOverwrite: true,
  ...common,
  splitting: true,
  format: "esm",
});

await build({
  entryPoints: { ladder: "dist/ladder.js" },
  outdir: "dist",
  allowOverwrite: true,
  ...common,
  format: "esm",
});
/** Resolves the testing kit's import of the package root to the root bundle beside it. */
const rootExternal = {
  name: "package-root-external",
  setup(b) {
    b.onResolve({ filter: /^\.\.\/index\.js$/ }, (args) =>
      args.importer.includes("/dist/testing/") ? { path: "./index.js", external: true } : undefined,
    );
  },
};
for (const [format, outdir] of [
  ["esm", "dist"],
  ["cjs", cjs],
]) {
  await build({
    entryPoints: { testing: "dist/testing/index.js" },
    outdir,
    ...common,
    format,
    plugins: [rootExternal],
  });
}
// CommonJS declarations: every .d.ts of dist/ (not the CLI's), under a CommonJS package.json.
for (const entry of readdirSync("dist")) {
  if (entry === "cli" || entry === "cjs" || entry === "chunks") continue;
  cpSync(`dist/${entry}`, `${cjs}/${entry}`, {
    recursive: true,
    filter: (src) => statSync(src).isDirectory() || src.endsWith(".d.ts"),
  });
}
writeFileSync(`${cjs}/package.json`, '{ "type": "commonjs" }\n');

// A loaded module's source stays in the heap (for lazy compilation). One character outside
// ASCII (an arrow in a comment) makes V8 hold the whole file as two bytes per character:
// 0.2 MB more for the package root. The bundles must stay ASCII; say where they do not.
for (const file of [
  "dist/index.js",
  "dist/ladder.js",
  "dist/testing.js",
  `${cjs}/index.js`,
  `${cjs}/testing.js`,
  ...readdirSync(chunks)
    .filter((f) => f.endsWith(".js"))
    .map((f) => `${chunks}/${f}`),
]) {
  const lines = readFileSync(file, "utf8").split("\n");
  const bad = lines.flatMap((l, i) =>
    /[\u0080-\uffff]/.test(l) ? [`${file}:${i + 1}: ${l.trim().slice(0, 100)}`] : [],
  );
  if (bad.length > 0) {
    throw new Error(
      `bundle not ASCII (each such file is held as UTF-16 in memory, twice its size):\n${bad.join("\n")}\n` +
        "Write these characters in ASCII in the sources (comments included), or escape them in strings.",
    );
  }
}
