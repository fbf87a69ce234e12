// Fleet on etcd, steady-state cost (a first part of the fleet benchmark): --nodes fleet
// nodes (in this process, each with its own etcd client and lease, the default timing:
// lease 30 s, renewal every 10 s) against a real 3-member etcd on loopback ports. Each node
// joins, publishes its view of --peers peers once, then nothing changes for --seconds.
// Measured from etcd's own /metrics over that window:
//   raft_proposals_per_node_per_s   writes that went through consensus (puts, txns, lease grants)
//   keepalives_per_node_per_s       lease renewals (served by the leader)
//   writes_per_node_per_s           the two together; the goal is <= 0.1 (a renewal every 10 s,
//                                   as a Kubernetes node lease, and nothing else when nothing changes)
// Not yet measured here (see README, Fleet): restarts per kill, kill → restart latency,
// notifications per incident, CPU and RSS per node against the built-in mesh.
// Prints one JSON object; never passes or fails.
//   node --import tsx bench/fleet.ts [--nodes 20] [--peers 5] [--seconds 30]
import { parseArgs } from "node:util";
import { FLEET_DEFAULTS } from "../src/core/defaults.js";
import { silentLogger } from "../src/core/logger.js";
import { FleetNode } from "../src/fleet/fleet-node.js";
import { EtcdCluster } from "../test/helpers/etcd-cluster.js";

const { values } = parseArgs({
  options: {
    nodes: { type: "string", default: "20" },
    peers: { type: "string", default: "5" },
    seconds: { type: "string", default: "30" },
  },
});
const N = Number(values.nodes);
const P = Number(values.peers);
const SECONDS = Number(values.seconds);

async function etcdCounters(c: EtcdCluster): Promise<{ proposals: number; keepalives: number }> {
  let proposals = 0;
  let keepalives = 0;
  for (const m of c.members) {
    const text = await (await fetch(`${m.clientUrl}/metrics`)).text();
    for (const line of text.split("\n")) {
      if (line.startsWith("etcd_server_proposals_committed_total "))
        proposals = Math.max(proposals, Number(line.split(" ")[1]));
      if (line.startsWith("grpc_server_handled_total{") && line.includes('grpc_method="LeaseKeepAlive"'))
        keepalives += Number(line.split(" ")[1]);
    }
  }
  return { proposals, keepalives };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const cluster = await EtcdCluster.start(3);
const nodes: FleetNode[] = [];
try {
  for (let i = 0; i < N; i++) {
    const n = new FleetNode({
      endpoints: cluster.endpoints,
      prefix: "/wdmesh-bench",
      node: `node-${i}`,
      host: `host-${i}`,
      url: `http://127.0.0.1:${10_000 + i}`,
      leaseTtlMs: FLEET_DEFAULTS.leaseTtlMs,
      keepaliveIntervalMs: FLEET_DEFAULTS.keepaliveIntervalMs,
      requestTimeoutMs: FLEET_DEFAULTS.requestTimeoutMs,
      logger: silentLogger,
    });
    nodes.push(n);
    await n.start();
  }
  for (const n of nodes) for (let p = 0; p < P; p++) n.observe(`agent-${n.host}-${p}`, false);
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline && nodes[0]!.members().length < N) await sleep(200);
  await sleep(2_000);
  const before = await etcdCounters(cluster);
  const t0 = performance.now();
  await sleep(SECONDS * 1000);
  const after = await etcdCounters(cluster);
  const secs = (performance.now() - t0) / 1000;
  const proposals = (after.proposals - before.proposals) / N / secs;
  const keepalives = (after.keepalives - before.keepalives) / N / secs;
  console.log(
    JSON.stringify({
      bench: "fleet-steady-state",
      nodes: N,
      peers_per_node: P,
      seconds: Math.round(secs),
      members_seen_by_node_0: nodes[0]!.members().length,
      raft_proposals_per_node_per_s: Number(proposals.toFixed(4)),
      keepalives_per_node_per_s: Number(keepalives.toFixed(4)),
      writes_per_node_per_s: Number((proposals + keepalives).toFixed(4)),
      goal_writes_per_node_per_s: 0.1,
    }),
  );
} finally {
  await Promise.all(nodes.map((n) => n.stop()));
  await cluster.stopAll();
}
