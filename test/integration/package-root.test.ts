// The package root as it is published: dist/index.js is one bundled ES module (see
// scripts/bundle-lib.mjs). Lazy parts (the config loader) are chunks loaded on first use
// that share the entry's classes, so a caller's `instanceof ConfigError` holds for an error
// thrown by the lazily loaded code. Run against the build, in a separate node process.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import test from "node:test";
import { fileURLToPath } from "node:url";
import { haveBuiltCli } from "../helpers/built-cli.js";

const ROOT = fileURLToPath(new URL("../../dist/index.js", import.meta.url));

/** Relative specifiers of the static `import … from "./x"` statements of an ES module. */
function staticRelativeImports(code: string): string[] {
  return [...code.matchAll(/^(?:import|export)\b[^;]*?\bfrom\s+"(\.[^"]+)";/gms)].map((m) => m[1]!);
}

void test("the package root loads as one module plus shared chunks, the config loader lazily", (t) => {
  if (!haveBuiltCli(t)) return;
  // Modules loaded by `import "watchdog-mesh"`: the entry and its static relative imports,
  // transitively (about 50 without the bundle).
  const seen = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const spec of staticRelativeImports(readFileSync(file, "utf8"))) visit(join(dirname(file), spec));
  };
  visit(ROOT);
  const loaded = [...seen].map((f) => relative(dirname(ROOT), f));
  // The entry and the chunks it shares with its two lazy parts (the config loader, the mesh
  // view's wire schema): a handful, against about 50 without the bundle.
  assert.ok(loaded.length <= 4, `loaded at import: ${loaded.join(", ")}`);
  for (const f of loaded.slice(1)) assert.match(f, /^chunks\//);
  const lazy = [...readFileSync(ROOT, "utf8").matchAll(/\bimport\("(\.[^"]+)"\)/g)].map((m) => m[1]!);
  assert.ok(lazy.length > 0, "the config loader is imported lazily");
  for (const spec of lazy) {
    assert.match(spec, /^\.\/chunks\/[\w-]+\.js$/);
    assert.ok(!loaded.includes(spec.slice(2)), `${spec} is not loaded at import`);
  }
});

void test("a ConfigError thrown by the lazily loaded config code is an instance of the exported class", (t) => {
  if (!haveBuiltCli(t)) return;
  const script = `
    const root = await import(${JSON.stringify(ROOT)});
    const out = {};
    for (const [name, run] of [
      ["fromConfig", () => root.monitorOptionsFromConfig("peers: 3\\n")],
      ["loadFile", () => root.loadMonitorOptions("/nonexistent/wdmesh-config.yaml")],
    ]) {
      try { await run(); out[name] = "resolved"; }
      catch (e) {
        out[name] = { config: e instanceof root.ConfigError, watchdog: e instanceof root.WatchdogError, code: e.code };
      }
    }
    console.log(JSON.stringify(out));`;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
    encoding: "utf8",
    timeout: 30_000,
  });
  assert.equal(r.status, 0, r.stderr);
  const expected = { config: true, watchdog: true, code: "WDM_CONFIG" };
  assert.deepEqual(JSON.parse(r.stdout), { fromConfig: expected, loadFile: expected });
});

void test("the ladder reducer is the subpath watchdog-mesh/ladder, one module, not part of the root", (t) => {
  if (!haveBuiltCli(t)) return;
  const ladder = fileURLToPath(new URL("../../dist/ladder.js", import.meta.url));
  assert.deepEqual(
    staticRelativeImports(readFileSync(ladder, "utf8")),
    [],
    "dist/ladder.js imports nothing of dist/",
  );
  // Through the package's own exports map, as a user imports it.
  const script = `
    const root = await import("watchdog-mesh");
    const { step, initialState, compilePolicy } = { ...root, ...(await import("watchdog-mesh/ladder")) };
    const out = step(initialState(), { type: "probe-miss", durationMs: 5, error: "refused" },
      compilePolicy({}), { now: 1000, node: "n", peer: "p", newId: () => "id-1" });
    console.log(JSON.stringify({ rootHas: ["step", "initialState"].filter((n) => n in root),
      missed: out.state.missed, lastError: out.state.lastError }));`;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
    cwd: fileURLToPath(new URL("../../", import.meta.url)),
    encoding: "utf8",
    timeout: 30_000,
  });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { rootHas: [], missed: 1, lastError: "refused" });
});
