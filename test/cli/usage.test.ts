import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { COMMANDS } from "../../src/cli/cli.js";
import { cli } from "./harness.js";
import { tempDir } from "../helpers/tmp-dir.js";

void describe("wdmesh usage, help and config commands", () => {
  void test("top-level --help lists every command; no command is a usage error", async () => {
    const r = await cli(["--help"]);
    assert.equal(r.code, 0);
    for (const c of COMMANDS) assert.match(r.stdout, new RegExp(`^  ${c.name}\\s+\\S`, "m"), c.name);
    assert.ok(
      COMMANDS.some((c) => c.name === "demo"),
      "demo is a command",
    );
    const none = await cli([]);
    assert.equal(none.code, 2);
    assert.match(none.stdout, /Commands:/);
  });

  void test("--help of every command shows its usage, options and an example", async () => {
    const runs = await Promise.all(COMMANDS.map((c) => cli([c.name, "--help"])));
    COMMANDS.forEach((c, i) => {
      const r = runs[i]!;
      assert.equal(r.code, 0, `${c.name}: ${r.stderr}`);
      assert.match(r.stdout, new RegExp(`^Usage: wdmesh ${c.name}`, "m"), c.name);
      assert.match(r.stdout, /^Options:\n/m, c.name);
      for (const o of c.options) assert.ok(r.stdout.includes(`--${o.name}`), `${c.name} --${o.name}`);
      assert.match(r.stdout, /^Examples?:\n {2}(?:[A-Z_]+=\S+ )?wdmesh /m, c.name);
    });
  });

  void test("unknown command / option / missing argument exit 2 with a hint", async () => {
    const cmd = await cli(["stauts"]);
    assert.equal(cmd.code, 2);
    assert.match(cmd.stderr, /unknown command "stauts"[\s\S]*did you mean "wdmesh status"/);
    const opt = await cli(["events", "--folow"]);
    assert.equal(opt.code, 2);
    assert.match(opt.stderr, /unknown option --folow[\s\S]*did you mean --follow\?/);
    const missing = await cli(["release"]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /missing PEER/);
    const extra = await cli(["status", "a-peer", "extra"]);
    assert.equal(extra.code, 2);
    const badUrl = await cli(["status", "--url", "ftp://x"]);
    assert.equal(badUrl.code, 2);
    assert.match(badUrl.stderr, /must be http/);
    const noValue = await cli(["events", "--after"]);
    assert.equal(noValue.code, 2);
  });

  void test("schema prints the config JSON Schema", async () => {
    const r = await cli(["schema"]);
    assert.equal(r.code, 0, r.stderr);
    const schema = JSON.parse(r.stdout);
    assert.equal(typeof schema, "object");
    assert.ok(JSON.stringify(schema).includes("peers"));
  });

  void test("validate prints the resolved config with secrets masked; a bad file lists every issue, exit 2", async (t) => {
    const dir = tempDir(t, "wdmesh-cli-");
    const good = join(dir, "good.yaml");
    writeFileSync(
      good,
      [
        "node:",
        "  name: immune",
        `  data_dir: ${dir}`,
        "  api_token: ${TEST_TOKEN}",
        "peers:",
        "  - name: sidecar",
        "    probe: { http: { url: http://127.0.0.1:9770/health } }",
        "",
      ].join("\n"),
    );
    const r = await cli(["validate", "--config", good], { TEST_TOKEN: "very-secret-token" });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /name: immune/);
    assert.match(r.stdout, /sidecar/);
    assert.ok(!r.stdout.includes("very-secret-token"), "the token is masked");
    const j = await cli(["validate", "--config", good, "--json"], { TEST_TOKEN: "very-secret-token" });
    assert.equal(JSON.parse(j.stdout).node.name, "immune");

    const bad = join(dir, "bad.yaml");
    writeFileSync(
      bad,
      [
        "node:",
        "  name: immune",
        "peers:",
        "  - name: a",
        "    probe: { http: { url: ftp://nope } }",
        "  - name: b",
        "    probe: { http: { url: http://x/, expect_status: 999 } }",
        "    intervall: 5s",
        "",
      ].join("\n"),
    );
    const b = await cli(["validate", "--config", bad]);
    assert.equal(b.code, 2);
    assert.equal(b.stdout, "");
    assert.match(b.stderr, /problems:/);
    assert.match(b.stderr, /peers\[0\]\.probe\.http\.url: /);
    assert.match(b.stderr, /peers\[1\]/);
    const missingFile = await cli(["validate", "--config", join(dir, "nope.yaml")]);
    assert.equal(missingFile.code, 2);
    assert.match(missingFile.stderr, /does not exist/);
    const noFlag = await cli(["validate"]);
    assert.equal(noFlag.code, 2);
    assert.match(noFlag.stderr, /missing --config FILE/);
  });
});
