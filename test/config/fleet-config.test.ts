// The fleet's config: node.host and peers[].host, coordination.etcd with its defaults and
// the lease timing rule, hosts[].fence; every problem with its path.
import { test } from "node:test";
import assert from "node:assert/strict";
import { hostname } from "node:os";
import { parseConfig, ConfigError } from "../../src/config/load.js";

const parse = (text: string) => parseConfig(text, {}, "fleet.yaml", { baseDir: "/etc/wdmesh" });

function problems(text: string): string[] {
  try {
    parse(text);
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e.issues.map((i) => `${i.path}: ${i.message}`);
  }
  assert.fail("the file was accepted");
}

void test("without coordination: no etcd, this node's host is the machine's hostname, peers default to it", () => {
  const rc = parse(`
node: { name: n1 }
peers:
  - { name: a, probe: { tcp: { host: 127.0.0.1, port: 1 } } }
  - { name: b, host: web-2, probe: { tcp: { host: 127.0.0.1, port: 1 } } }
`);
  assert.equal(rc.fleet.etcd, null);
  assert.equal(rc.fleet.host, hostname());
  assert.deepEqual(rc.fleet.peerHosts, { b: "web-2" });
});

void test("coordination.etcd resolves with its defaults in ms; node.host and fences are kept", () => {
  const rc = parse(`
node: { name: n1, host: web-1 }
coordination:
  etcd:
    endpoints: [http://10.0.0.5:2379, http://10.0.0.6:2379]
    tls: { ca: CA-PEM, cert: CERT-PEM, key: KEY-PEM }
hosts:
  - { name: web-2, fence: { command: { argv: [/usr/local/bin/ipmi-reset, web-2], timeout: 20s } } }
`);
  assert.equal(rc.fleet.host, "web-1");
  assert.deepEqual(rc.fleet.etcd, {
    endpoints: ["http://10.0.0.5:2379", "http://10.0.0.6:2379"],
    prefix: "/wdmesh",
    tls: { ca: "CA-PEM", cert: "CERT-PEM", key: "KEY-PEM" },
    leaseTtlMs: 30_000,
    keepaliveIntervalMs: 10_000,
    requestTimeoutMs: 5_000,
  });
  assert.deepEqual(rc.fleet.hosts, [
    { name: "web-2", fence: { argv: ["/usr/local/bin/ipmi-reset", "web-2"], timeout: 20_000 } },
  ]);
  assert.ok(rc.secrets.includes("KEY-PEM"), "the TLS client key is a secret (masked, never logged)");
});

void test("the lease rule keepalive_interval + 2 × request_timeout <= lease_ttl is enforced, with the numbers", () => {
  const p = problems(`
node: { name: n1 }
coordination: { etcd: { endpoints: [http://127.0.0.1:2379], lease_ttl: 10s, keepalive_interval: 5s, request_timeout: 3s } }
`);
  assert.equal(p.length, 1, p.join("\n"));
  assert.match(
    p[0]!,
    /^coordination\.etcd\.lease_ttl: keepalive_interval \+ 2 × request_timeout \(11000 ms\) must be <= lease_ttl \(10000 ms\)/,
  );
  // On the edge it holds.
  parse(`
node: { name: n1 }
coordination: { etcd: { endpoints: [http://127.0.0.1:2379], lease_ttl: 11s, keepalive_interval: 5s, request_timeout: 3s } }
`);
});

void test("every fleet problem at once, each with its path", () => {
  const p = problems(`
node: { name: n1, host: "bad host" }
mesh: {}
coordination: { etcd: { endpoints: [], prefix: wdmesh, lease_ttl: 1s } }
hosts:
  - { name: h1, fence: { command: { argv: [ipmi-reset] } } }
  - { name: h1 }
peers:
  - { name: a, host: "", probe: { tcp: { host: 127.0.0.1, port: 1 } } }
`).join("\n");
  assert.match(p, /node\.host: must be a host name/);
  assert.match(p, /coordination\.etcd\.endpoints: must list at least one etcd client URL/);
  assert.match(p, /coordination\.etcd\.prefix: must be a key path starting with "\/"/);
  assert.match(p, /coordination\.etcd\.lease_ttl: must be at least 2s/);
  assert.match(p, /coordination: is set together with mesh/);
  assert.match(p, /hosts\[0\]\.fence\.command\.argv: argv\[0\] must be an absolute path/);
  assert.match(p, /hosts\[1\]\.name: duplicate host name "h1"/);
  assert.match(p, /peers\[0\]\.host: must be a host name/);
});

void test("a fence needs coordination.etcd (it runs only with a fencing token)", () => {
  const p = problems(`
node: { name: n1 }
hosts:
  - { name: h1, fence: { command: { argv: [/usr/local/bin/ipmi-reset] } } }
`);
  assert.deepEqual(p, [
    "hosts[0].fence: needs coordination.etcd: a fence runs only with a fencing token taken in etcd",
  ]);
});
