// Every code sample of README.md compiles as a user would paste it: each ```ts / ```js
// block is written to a file of its own in a temporary ES module project, its
// `watchdog-mesh` imports resolved to this repository's sources (the root, /ladder and
// /testing), other packages to this repository's node_modules, and the TypeScript compiler
// type-checks it (strict for TypeScript; JavaScript as `// @ts-check` reads it). A sample
// that does not compile fails this test with its README line.
//
// A sample that is deliberately a fragment says so in an HTML comment just above its fence,
// naming what it leaves undeclared: `<!-- sample: fragment, declares: a, b -->`; the names
// are declared `any` for it. Samples that are node:test files (they import "node:test")
// are also run, for real, with node --test: they use no real host or unit.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { fileTempDir } from "../helpers/tmp-dir.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** The package's entries as a user imports them → this repository's sources. */
const ENTRIES: Record<string, string> = {
  "watchdog-mesh": join(ROOT, "src/index.ts"),
  "watchdog-mesh/ladder": join(ROOT, "src/ladder.ts"),
  "watchdog-mesh/testing": join(ROOT, "src/testing/index.ts"),
};

interface Sample {
  /** README line of the opening fence (1-based). */
  line: number;
  lang: "ts" | "js";
  code: string;
  /** Names a fragment leaves undeclared (declared `any` for it); undefined for a whole sample. */
  fragment?: string[];
}

const MARK = /^<!--\s*sample:\s*fragment(?:,\s*declares:\s*([\w$,\s]+?))?\s*-->$/;

/** Every ```ts, ```typescript, ```js and ```javascript block of `markdown`. */
export function readmeSamples(markdown: string): Sample[] {
  const lines = markdown.split("\n");
  const out: Sample[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(ts|typescript|js|javascript|mjs)\s*$/.exec(lines[i] ?? "");
    if (!open) continue;
    const end = lines.findIndex((l, j) => j > i && /^```\s*$/.test(l));
    assert.ok(end > i, `README.md:${i + 1}: the code block is never closed`);
    let fragment: string[] | undefined;
    // The HTML comments right above the fence (prettier-ignore may sit between).
    for (let j = i - 1; j >= 0 && /^<!--.*-->$/.test(lines[j] ?? ""); j--) {
      const m = MARK.exec(lines[j] ?? "");
      if (m)
        fragment = (m[1] ?? "")
          .split(",")
          .map((s) => s.trim())
          .filter(Boolean);
    }
    const lang = open[1] === "ts" || open[1] === "typescript" ? "ts" : "js";
    out.push({
      line: i + 1,
      lang,
      code: lines.slice(i + 1, end).join("\n"),
      ...(fragment ? { fragment } : {}),
    });
    i = end;
  }
  return out;
}

/** The file name of a sample in the temporary project. */
function fileOf(s: Sample): string {
  return `readme-${s.line}.${s.lang}`;
}

/** "README.md:LINE: message" for every error of the samples in `dir`. */
function compileProblems(dir: string, samples: readonly Sample[]): string[] {
  const files = samples.map((s) => join(dir, fileOf(s)));
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    lib: ["lib.es2023.d.ts", "lib.dom.d.ts"],
    types: ["node"],
    typeRoots: [join(ROOT, "node_modules/@types")],
    strict: true,
    allowJs: true,
    checkJs: true,
    noEmit: true,
    skipLibCheck: true,
    esModuleInterop: true,
    paths: Object.fromEntries(Object.entries(ENTRIES).map(([k, v]) => [k, [v]])),
  };
  const program = ts.createProgram(files, options);
  const byFile = new Map(samples.map((s) => [join(dir, fileOf(s)), s]));
  const out: string[] = [];
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const sample = d.file ? byFile.get(d.file.fileName) : undefined;
    const text = ts.flattenDiagnosticMessageText(d.messageText, "\n");
    if (!d.file || d.start === undefined) {
      out.push(`(no file): ${text}`);
      continue;
    }
    if (!sample) continue; // the repository's own sources are checked by tsc
    const { line } = d.file.getLineAndCharacterOfPosition(d.start);
    // The file starts with one line declaring a fragment's names; the README's code one line after the fence.
    out.push(`README.md:${sample.line + line + (sample.fragment ? 0 : 1)}: ${text}`);
  }
  return out;
}

/** A temporary ES module project holding every sample, with this repository's node_modules. */
function project(samples: readonly Sample[]): string {
  const dir = fileTempDir("wdmesh-readme-");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "package.json"), '{ "type": "module", "private": true }\n');
  symlinkSync(realpathSync(join(ROOT, "node_modules")), join(dir, "node_modules"));
  for (const s of samples) {
    // One line declaring a fragment's names (`any`), so its code keeps its README lines.
    const names = s.fragment?.length ? s.fragment : ["_"];
    const decl =
      s.lang === "ts"
        ? `declare const ${names.map((n) => `${n}: any`).join(", ")};`
        : `/** @type {any} */ let ${names.join(", ")};`;
    writeFileSync(join(dir, fileOf(s)), (s.fragment ? `${decl}\n` : "") + s.code + "\n");
  }
  return dir;
}

const README = readFileSync(join(ROOT, "README.md"), "utf8");

test("every TypeScript and JavaScript sample of README.md compiles", () => {
  const samples = readmeSamples(README);
  // Not vacuous: the Library section alone holds several samples, one of them TypeScript.
  assert.ok(samples.length >= 5, `only ${samples.length} samples found`);
  assert.ok(samples.some((s) => s.lang === "ts"));
  const fragments = samples.filter((s) => s.fragment);
  assert.ok(
    fragments.length <= 2,
    `fragments are rare: README.md:${fragments.map((f) => f.line).join(", ")}`,
  );
  const dir = project(samples);
  assert.deepEqual(compileProblems(dir, samples), []);
});

test("a sample that does not compile is named by its README line", () => {
  const md = [
    "text",
    "```ts",
    'import { createServer } from "node:http";',
    "createServer(handler);",
    "```",
    "<!-- sample: fragment, declares: handler -->",
    "```js",
    'import { createServer } from "node:http";',
    "createServer(handler);",
    "```",
    "```js",
    'import { Nope } from "node:http";',
    "```",
  ].join("\n");
  const samples = readmeSamples(md);
  assert.deepEqual(
    samples.map((s) => [s.line, s.lang, s.fragment]),
    [
      [2, "ts", undefined],
      [7, "js", ["handler"]],
      [11, "js", undefined],
    ],
  );
  const problems = compileProblems(project(samples), samples).sort();
  assert.equal(problems.length, 2, problems.join("\n"));
  assert.match(problems[0] ?? "", /^README\.md:12: .*'Nope'/);
  assert.match(problems[1] ?? "", /^README\.md:4: Cannot find name 'handler'/);
});

test("the README's node:test samples pass when run", () => {
  const runnable = readmeSamples(README).filter((s) => s.lang === "ts" && /from "node:test"/.test(s.code));
  assert.ok(
    runnable.some((s) => s.code.includes('"watchdog-mesh/testing"')),
    "the testing kit's sample is among them",
  );
  const dir = project(runnable);
  for (const s of runnable) {
    // Run as written, the package's entries pointed at this repository's sources.
    const code = s.code.replace(/from "(watchdog-mesh(?:\/\w+)?)"/g, (all, name: string) =>
      ENTRIES[name] ? `from ${JSON.stringify(ENTRIES[name])}` : all,
    );
    const file = join(dir, `run-${s.line}.ts`);
    writeFileSync(file, code);
    // Its own test run: without the parent runner's NODE_TEST_CONTEXT, it reports in TAP.
    const env = { ...process.env };
    delete env.NODE_TEST_CONTEXT;
    const r = spawnSync(process.execPath, ["--import", "tsx", "--test", "--test-reporter=tap", file], {
      cwd: dir,
      env,
      encoding: "utf8",
      timeout: 120_000,
    });
    assert.equal(r.status, 0, `README.md:${s.line}: the sample's tests failed\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /^# fail 0$/m, `README.md:${s.line}`);
    assert.match(r.stdout, /^# pass [1-9]/m, `README.md:${s.line}`);
  }
});
