// The package as a user installs it from a clone: `npm pack` in a checkout without dist/
// (the `prepare` script builds it), then the tarball unpacked into a CommonJS project's
// node_modules the way npm lays it out (package files, the `bin` link; the dependencies
// from this repository's install, since tests never reach a registry: CI's
// scripts/test-other-nodes.sh does the same with a real `npm install -g`).
//   - `require("watchdog-mesh")` from CommonJS works and the Monitor probes a real server;
//   - the `wdmesh` of the package runs the daemon smoke test (validate, run, probe, restart);
//   - without better-sqlite3 (a library-only install) the library works and the daemon says
//     what to install, with the error's code.
//   - `watchdog-mesh/testing` imports (ES) and requires (CommonJS), its Monitor is the
//     root's, its types compile, and a small test of a mesh restart with it passes.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join, relative } from "node:path";
import test, { before } from "node:test";
import { fileURLToPath } from "node:url";
import { haveBuiltCli } from "../helpers/built-cli.js";
import { fileTempDir } from "../helpers/tmp-dir.js";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const SMOKE = join(REPO, "scripts/smoke-daemon.sh");

let work = "";
let unpacked = ""; // the package as npm installs it (package/ of the tarball)
let version = "";

function run(cmd: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; timeout?: number }) {
  return spawnSync(cmd, args, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    encoding: "utf8",
    timeout: opts.timeout ?? 120_000,
  });
}

before(
  () => {
    if (!existsSync(join(REPO, "node_modules"))) return;
    work = fileTempDir("wdmesh-pack-");
    // A clone: the files git knows (tracked, and new ones not ignored), no dist/.
    const clone = join(work, "clone");
    const files = run("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], { cwd: REPO });
    assert.equal(files.status, 0, files.stderr);
    for (const f of files.stdout.split("\0").filter(Boolean)) {
      if (!existsSync(join(REPO, f))) continue; // deleted in the work tree
      mkdirSync(join(clone, f, ".."), { recursive: true });
      writeFileSync(join(clone, f), readFileSync(join(REPO, f)), { mode: statSync(join(REPO, f)).mode });
    }
    assert.ok(!existsSync(join(clone, "dist")));
    symlinkSync(realpathSync(join(REPO, "node_modules")), join(clone, "node_modules"));
    const pack = run("npm", ["pack", "--pack-destination", work, "--no-audit", "--no-fund"], {
      cwd: clone,
      timeout: 600_000,
    });
    assert.equal(pack.status, 0, `npm pack: ${pack.stderr}`);
    const tarball = readdirSync(work).find((f) => f.endsWith(".tgz"));
    assert.ok(tarball, "npm pack made no tarball");
    const tar = run("tar", ["xzf", join(work, tarball), "-C", work], { cwd: work });
    assert.equal(tar.status, 0, tar.stderr);
    unpacked = join(work, "package");
    version = (JSON.parse(readFileSync(join(unpacked, "package.json"), "utf8")) as { version: string })
      .version;
  },
  { timeout: 700_000 },
);

/** A CommonJS project (package.json as `npm init -y` writes it) with the package installed. */
function commonJsProject(name: string, withSqlite: boolean): string {
  const app = join(work, name);
  const nm = join(app, "node_modules");
  mkdirSync(join(nm, ".bin"), { recursive: true });
  writeFileSync(
    join(app, "package.json"),
    JSON.stringify({ name, version: "1.0.0", main: "index.js", license: "ISC" }),
  );
  cpSync(unpacked, join(nm, "watchdog-mesh"), { recursive: true }); // Node resolves a symlink to its target
  const repoModules = realpathSync(join(REPO, "node_modules"));
  for (const dep of readdirSync(repoModules)) {
    if (dep.startsWith(".") || dep === "watchdog-mesh") continue;
    if (dep === "better-sqlite3" && !withSqlite) continue;
    symlinkSync(join(repoModules, dep), join(nm, dep));
  }
  // What npm links for the package's `bin`.
  const pkg = JSON.parse(readFileSync(join(unpacked, "package.json"), "utf8")) as {
    bin: Record<string, string>;
  };
  for (const [cmd, target] of Object.entries(pkg.bin)) {
    symlinkSync(relative(join(nm, ".bin"), join(nm, "watchdog-mesh", target)), join(nm, ".bin", cmd));
  }
  return app;
}

/**
 * Compiles `app/NAME.ts` as a CommonJS TypeScript project does (node16 resolution: the
 * `require` condition's types), runs the result and returns what it printed.
 */
function compileAndRun(app: string, name: string): string {
  const tsc = run(
    process.execPath,
    [
      join(REPO, "node_modules/typescript/bin/tsc"),
      "--module",
      "node16",
      "--target",
      "es2022",
      "--strict",
      "--types",
      "node",
      "--typeRoots",
      join(REPO, "node_modules/@types"),
      `${name}.ts`,
    ],
    { cwd: app },
  );
  assert.equal(tsc.status, 0, tsc.stdout + tsc.stderr);
  const out = run(process.execPath, [`${name}.js`], { cwd: app });
  assert.equal(out.status, 0, out.stderr);
  return out.stdout.trim();
}

function ready(t: { skip(reason: string): void }): boolean {
  if (!haveBuiltCli(t)) return false;
  if (work === "") {
    if (process.env.CI) assert.fail("node_modules is missing");
    t.skip("node_modules is missing (npm ci)");
    return false;
  }
  return true;
}

void test("npm pack of a clone ships the built package: both entries and an executable wdmesh", (t) => {
  if (!ready(t)) return;
  for (const f of [
    "dist/index.js",
    "dist/cjs/index.js",
    "dist/cjs/index.d.ts",
    "dist/index.d.ts",
    "dist/cli/main.js",
    "dist/testing.js",
    "dist/cjs/testing.js",
    "dist/testing/index.d.ts",
    "dist/cjs/testing/index.d.ts",
  ]) {
    assert.ok(existsSync(join(unpacked, f)), `${f} is in the tarball`);
  }
  assert.ok(
    (statSync(join(unpacked, "dist/cli/main.js")).mode & 0o111) !== 0,
    "dist/cli/main.js is executable",
  );
  const pkg = JSON.parse(readFileSync(join(unpacked, "package.json"), "utf8")) as {
    dependencies: Record<string, string>;
    peerDependenciesMeta: Record<string, { optional: boolean }>;
  };
  assert.equal(pkg.dependencies["better-sqlite3"], undefined, "better-sqlite3 is not a hard dependency");
  assert.equal(pkg.peerDependenciesMeta["better-sqlite3"]?.optional, true);
});

void test("a CommonJS project requires the packed package and its Monitor probes a real server", (t) => {
  if (!ready(t)) return;
  const app = commonJsProject("cjs-app", false);
  writeFileSync(
    join(app, "index.js"),
    `const http = require("node:http");
const { Monitor, ConfigError, monitorOptionsFromConfig } = require("watchdog-mesh");
const server = http.createServer((req, res) => res.end("ok")).listen(0, "127.0.0.1", async () => {
  const m = new Monitor({ selfName: "cjs", interval: "1s", timeout: "800ms" });
  m.registerPeer("svc", "http://127.0.0.1:" + server.address().port + "/health");
  m.start();
  let health = "";
  for (let i = 0; i < 300 && health !== "HEALTHY"; i++) {
    await new Promise((r) => setTimeout(r, 50));
    health = m.getPeerStatus("svc").status;
  }
  const err = await monitorOptionsFromConfig("peers: 3\\n").then(() => null, (e) => e);
  await m.stop();
  server.close();
  console.log(JSON.stringify({ health, configError: err instanceof ConfigError, code: err && err.code }));
});
`,
  );
  const r = run(process.execPath, ["index.js"], { cwd: app, timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { health: "HEALTHY", configError: true, code: "WDM_CONFIG" });
  // TypeScript in the project (CommonJS output, node16 resolution: the `require` condition's
  // types) compiles an import of the package, and the result runs.
  writeFileSync(
    join(app, "typed.ts"),
    'import { Monitor } from "watchdog-mesh";\nconst m: Monitor = new Monitor({ selfName: "ts", interval: "1s", timeout: "500ms" });\nconsole.log(m.peerNames().length);\n',
  );
  assert.equal(compileAndRun(app, "typed"), "0");
  // The same from the ES side of the same install.
  const esm = run(
    process.execPath,
    ["--input-type=module", "-e", 'const m = await import("watchdog-mesh"); console.log(typeof m.Monitor);'],
    { cwd: app },
  );
  assert.equal(esm.status, 0, esm.stderr);
  assert.equal(esm.stdout.trim(), "function");
});

/** A node:test file that uses the testing kit, after `load` (how it gets the package's two entries). */
function kitTest(load: string): string {
  return `${load}
test("a mesh of three restarts a failing worker once, confirmed by a majority", async () => {
  const mesh = await createTestMesh({ nodes: 3 });
  try {
    assert.ok(mesh.nodes[0].monitor instanceof Monitor, "the kit's Monitor is the root's");
    mesh.registerPeer({ name: "w", probe: { http: { url: "http://10.0.0.9:1/health" } }, restart: { systemd: { unit: "w.service" } } });
    mesh.start();
    await mesh.advance("5s");
    mesh.script("w", "down", ["node-1"]);
    await mesh.advance("10s");
    assert.equal(mesh.calls("restart").length, 0, "one node of three holds");
    mesh.script("w", "down");
    await mesh.advance("10s");
    assert.equal(mesh.calls("restart", "w").length, 1);
  } finally {
    await mesh.stop();
  }
  const clock = new FakeClock();
  let fired = 0;
  clock.setTimeout(() => fired++, 1000);
  await clock.advance(1000);
  assert.equal(fired, 1);
});
`;
}

void test("watchdog-mesh/testing from the packed package: required, imported, typed, and a test with it passes", (t) => {
  if (!ready(t)) return;
  const app = commonJsProject("kit-app", false);
  writeFileSync(
    join(app, "kit.test.js"),
    kitTest(`const { test } = require("node:test");
const assert = require("node:assert/strict");
const { Monitor } = require("watchdog-mesh");
const { createTestMesh, FakeClock } = require("watchdog-mesh/testing");`),
  );
  writeFileSync(
    join(app, "kit.test.mjs"),
    kitTest(`import { test } from "node:test";
import assert from "node:assert/strict";
import { Monitor } from "watchdog-mesh";
import { createTestMesh, FakeClock } from "watchdog-mesh/testing";`),
  );
  // Its own test run: without this runner's NODE_TEST_CONTEXT, it reports in TAP.
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  const r = run(process.execPath, ["--test", "--test-reporter=tap", "kit.test.js", "kit.test.mjs"], {
    cwd: app,
    env,
    timeout: 120_000,
  });
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /^# pass 2$/m);
  assert.match(r.stdout, /^# fail 0$/m);
  // The `require` condition's types: a CommonJS TypeScript project compiles against them.
  writeFileSync(
    join(app, "typed-kit.ts"),
    'import { FakeProber, RecordingExecutor, type TestMesh } from "watchdog-mesh/testing";\n' +
      'const p = new FakeProber().set("http://x/health", ["down", "up"]);\n' +
      "const e: RecordingExecutor = new RecordingExecutor();\n" +
      "const m: TestMesh | undefined = undefined;\n" +
      "console.log(p.count(), e.calls.length, m === undefined);\n",
  );
  assert.equal(compileAndRun(app, "typed-kit"), "0 0 true");
});

void test("without better-sqlite3 the daemon says what to install, with a code", (t) => {
  if (!ready(t)) return;
  const app = commonJsProject("no-sqlite", false);
  const wdmesh = join(app, "node_modules/.bin/wdmesh");
  const v = run(wdmesh, ["--version"], { cwd: app });
  assert.equal(v.status, 0, v.stderr);
  assert.equal(v.stdout.trim(), `wdmesh ${version}`);
  const dataDir = join(app, "data");
  writeFileSync(
    join(app, "mesh.yaml"),
    `node: { name: n, listen: "127.0.0.1:0", data_dir: ${JSON.stringify(dataDir)} }\npeers: []\n`,
  );
  const r = run(wdmesh, ["run", "--config", join(app, "mesh.yaml")], { cwd: app, timeout: 60_000 });
  assert.notEqual(r.status, 0);
  const out = r.stdout + r.stderr;
  assert.match(out, /WDM_SQLITE_MISSING/);
  assert.match(out, /npm install -g watchdog-mesh better-sqlite3/);
  assert.doesNotMatch(out, /ERR_MODULE_NOT_FOUND|at Module\._resolveFilename/);
});

void test("the packed wdmesh passes the daemon smoke test with better-sqlite3 installed beside it", (t) => {
  if (!ready(t)) return;
  const app = commonJsProject("daemon", true);
  const r = run("bash", [SMOKE, join(app, "smoke")], {
    cwd: app,
    env: { ...process.env, PATH: `${join(app, "node_modules/.bin")}:${process.env.PATH ?? ""}` },
    timeout: 180_000,
  });
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /smoke test passed/);
});
