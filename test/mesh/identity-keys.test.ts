// Identity keys: a private key file others on the host can read is refused (as ssh refuses
// one), and two members listed with one public key are a config error naming both (one key
// holder would otherwise count as two nodes of the quorum).
import { test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadConfig } from "../../src/config/load.js";
import { ConfigError } from "../../src/config/config-error.js";
import { InvalidOptionError } from "../../src/core/errors.js";
import { generateIdentity } from "../../src/core/identity.js";
import { Monitor } from "../../src/monitor.js";
import { tempDir } from "../helpers/tmp-dir.js";

function config(dir: string, keyPath: string, members: string): string {
  const path = join(dir, "wdmesh.yaml");
  writeFileSync(
    path,
    [
      "node:",
      "  name: wd-a",
      `  identity: \${file:${keyPath}}`,
      "mesh:",
      "  members:",
      members,
      "peers: []",
      "",
    ].join("\n"),
  );
  return path;
}

void test("an identity key file readable by group or others is refused, naming the file and the fix", async (t) => {
  const dir = tempDir(t, "wdm-idkey-");
  const key = join(dir, "node.key");
  writeFileSync(key, generateIdentity().privatePem);
  const b = generateIdentity().publicKey;
  const path = config(dir, key, `    - { name: wd-b, url: "http://127.0.0.1:9761", public_key: "${b}" }`);
  for (const mode of [0o644, 0o640, 0o666, 0o604]) {
    chmodSync(key, mode);
    await assert.rejects(loadConfig(path, {}), (e: unknown) => {
      assert.ok(e instanceof ConfigError, String(e));
      assert.match(e.message, new RegExp(`${key}.*private key.*mode 0${mode.toString(8)}.*chmod 600`));
      return true;
    });
  }
  chmodSync(key, 0o600);
  const ok = await loadConfig(path, {});
  assert.equal(ok.mesh?.members[0]?.publicKey, b, "0600 is accepted");
});

void test("two members with one public key (or a member with this node's own key) are refused, naming both", async (t) => {
  const dir = tempDir(t, "wdm-dupkey-");
  const key = join(dir, "node.key");
  const own = generateIdentity();
  writeFileSync(key, own.privatePem, { mode: 0o600 });
  const b = generateIdentity().publicKey;
  const twice = config(
    dir,
    key,
    [
      `    - { name: wd-b, url: "http://127.0.0.1:9761", public_key: "${b}" }`,
      `    - { name: wd-c, url: "http://127.0.0.1:9762", public_key: "${b}" }`,
    ].join("\n"),
  );
  await assert.rejects(loadConfig(twice, {}), (e: unknown) => {
    assert.ok(e instanceof ConfigError);
    assert.match(
      e.message,
      /mesh\.members\[1\]\.public_key.*same public key as mesh\.members\[0\] \("wd-b"\)/,
    );
    return true;
  });
  const mine = config(
    dir,
    key,
    `    - { name: wd-b, url: "http://127.0.0.1:9761", public_key: "${own.publicKey}" }`,
  );
  await assert.rejects(loadConfig(mine, {}), /this node's own public key/);

  // The library refuses the same.
  assert.throws(
    () =>
      new Monitor({
        selfName: "wd-a",
        mesh: {
          identity: own.privatePem,
          members: [
            { name: "wd-b", url: "http://127.0.0.1:9761", publicKey: b },
            { name: "wd-c", url: "http://127.0.0.1:9762", publicKey: b },
          ],
        },
      }),
    (e: unknown) =>
      e instanceof InvalidOptionError &&
      /mesh\.members\[0\] \("wd-b"\)/.test(e.message) &&
      /wd-c|\[1\]/.test(e.message),
  );
});
