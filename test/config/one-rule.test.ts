// A config that validates also runs: the config schema and the library apply the same
// rules (core/rules.ts), so `wdmesh validate` refuses what the Monitor would refuse, and
// the Monitor accepts what the config file can say.
import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseConfig } from "../../src/config/load.js";
import { InvalidOptionError } from "../../src/core/errors.js";
import { MAX_CONCURRENCY } from "../../src/core/rules.js";
import { Monitor } from "../../src/monitor.js";
import { cli } from "../cli/harness.js";
import { tempDir } from "../helpers/tmp-dir.js";

const PEER = `peers:
  - name: a
    probe: { http: { url: "http://127.0.0.1:1/health" } }
`;

void test("defaults.concurrency above the Monitor's bound is refused by wdmesh validate, naming the field and the bound", async (t) => {
  const dir = tempDir(t, "wdm-one-rule-");
  const file = join(dir, "mesh.yaml");
  writeFileSync(file, `node: { name: n1 }\ndefaults: { concurrency: 70000 }\n${PEER}`);
  const r = await cli(["validate", "--config", file]);
  assert.notEqual(r.code, 0, "validate refuses it");
  assert.match(r.stderr + r.stdout, /defaults\.concurrency/);
  assert.match(r.stderr + r.stdout, /from 1 to 65536/);
  // The library refuses the same value with the same bound.
  assert.throws(
    () => new Monitor({ selfName: "n1", concurrency: 70_000 }),
    (e: unknown) => e instanceof InvalidOptionError && /from 1 to 65536/.test(e.message),
  );
});

void test("the largest concurrency the config accepts is one the Monitor runs with", async () => {
  const rc = parseConfig(
    `node: { name: n1 }\ndefaults: { concurrency: ${MAX_CONCURRENCY} }\n${PEER}`,
    {},
    "t.yaml",
  );
  const m = new Monitor({ ...rc.monitor });
  await m.start();
  await m.stop();
});

void test("peer names: the config and the library accept and refuse the same names", () => {
  const accepted = ["sidecar", "Sidecar-2", "agent@host", "a.b_c"];
  const refused = ["Immune Node", "-lead", "a/b", "<img>", "x".repeat(129)];
  for (const name of accepted) {
    parseConfig(
      `node: { name: n1 }\npeers:\n  - name: "${name}"\n    probe: { http: { url: "http://127.0.0.1:1/h" } }\n`,
      {},
      "t.yaml",
    );
    new Monitor({ selfName: "n1" }).registerPeer({ name, probe: { http: { url: "http://127.0.0.1:1/h" } } });
  }
  for (const name of refused) {
    assert.throws(() =>
      parseConfig(
        `node: { name: n1 }\npeers:\n  - name: "${name}"\n    probe: { http: { url: "http://127.0.0.1:1/h" } }\n`,
        {},
        "t.yaml",
      ),
    );
    assert.throws(
      () =>
        new Monitor({ selfName: "n1" }).registerPeer({
          name,
          probe: { http: { url: "http://127.0.0.1:1/h" } },
        }),
      InvalidOptionError,
    );
  }
});

void test("commands: argv[0] must be an absolute path in the config and in the library", () => {
  assert.throws(
    () =>
      parseConfig(
        `node: { name: n1 }\n${PEER}    restart: { command: { argv: [restart-a] } }\n`,
        {},
        "t.yaml",
      ),
    /argv\[0\] must be an absolute path/,
  );
  assert.throws(
    () =>
      new Monitor({ selfName: "n1" }).registerPeer({
        name: "a",
        probe: { http: { url: "http://127.0.0.1:1/h" } },
        restart: { command: { argv: ["restart-a"] } },
      }),
    /argv\[0\] must be an absolute path/,
  );
});

void test("systemd units: a name without its type suffix is refused by both", () => {
  assert.throws(
    () =>
      parseConfig(`node: { name: n1 }\n${PEER}    restart: { systemd: { unit: shield } }\n`, {}, "t.yaml"),
    /not a systemd unit name/,
  );
  assert.throws(
    () =>
      new Monitor({ selfName: "n1" }).registerPeer({
        name: "a",
        probe: { http: { url: "http://127.0.0.1:1/h" } },
        restart: { systemd: { unit: "shield" } },
      }),
    /not a systemd unit name/,
  );
});
