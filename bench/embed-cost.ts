// Cost of embedding the watchdog with its mesh: one Monitor watching N peers (--peers,
// default 10; 0 is a three-agent mesh alone) and 2 mesh members (each another process
// embedding Monitor with the mesh), inside an otherwise idle Node process that serves the
// mesh routes. Prints JSON: RSS added over the idle process's own (median and max over
// the window), CPU in % of one core with the watchdog, before it (the same process idle
// over a window as long, with the same once-a-second sampler) and added, the main
// thread's wakeups per second, and CPU per check (µs; the window's CPU, which also
// covers serving the members' view requests and polling theirs, divided by the checks
// made). The same figures without the mesh (its peers only, no members running) are
// printed under "without_mesh", and under "bare_http_floor" those of a process without
// the library making the same keep-alive GETs (one per peer and per member each interval,
// node:http) among members doing the same, each answering the others' GETs: what the
// exchanges alone cost on this machine. Goal, added by the watchdog: <= 3 MB, <= 0.3 % of a
// core at 1 s.
// Needs `npm run build` (the measured process loads dist/ without a TypeScript loader).
//   node --import tsx bench/embed-cost.ts [--seconds 60] [--interval 1000] [--peers 10] [--spread 1] [--cpu-prof FILE]
// --cpu-prof writes a CPU profile of the measured window (with the mesh) to FILE.
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { loadavg } from "node:os";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { arg, freePort, startPeerServers } from "./lib.js";

const seconds = arg("seconds", 60);
/** Peers the measured node watches besides its 2 members (0: the three-agent mesh alone). */
const peerCount = arg("peers", 10);
/** --spread 1: the hand-made GETs of the floor each on its own timer, spread over the interval. */
const spread = arg("spread", 0) === 1;
const interval = arg("interval", 1000);
const KEY = "embed-cost-bench-key-0123456789";
const cpuProfIndex = process.argv.indexOf("--cpu-prof");
const cpuProf =
  cpuProfIndex >= 0 ? resolve(process.argv[cpuProfIndex + 1] ?? "embed-cost.cpuprofile") : undefined;
const NODE = fileURLToPath(new URL("./fixtures/embed-node.mjs", import.meta.url));

const servers = await startPeerServers(peerCount);
const names = ["measured", "member-1", "member-2"];
const ports = await Promise.all(names.map(() => freePort()));
const url = (i: number) => `http://127.0.0.1:${ports[i]}`;
const config = (i: number, measure: boolean, mesh = true, floor = false) =>
  JSON.stringify({
    name: names[i],
    port: ports[i],
    key: KEY,
    members: names.flatMap((n, j) => (j === i ? [] : [{ name: n, url: url(j) }])),
    // The members watch nothing but the mesh; the measured node watches the 10 peers.
    peers: measure ? servers.ports.map((p) => `http://127.0.0.1:${p}/health`) : [],
    interval,
    seconds,
    measure,
    mesh,
    floor,
    spread,
    ...(measure && mesh && !floor && cpuProf ? { cpuProf } : {}),
  });
const children: ChildProcess[] = [];
const round2 = (x: number) => Math.round(x * 100) / 100;
/** Starts the two members, embedding Monitor with the mesh (or, with `floor`, hand loops); returns their stop. */
function startMembers(floor: boolean): () => void {
  const members = [1, 2].map((i) =>
    spawn(process.execPath, [NODE, config(i, false, true, floor)], { stdio: ["pipe", "inherit", "inherit"] }),
  );
  children.push(...members);
  return () => {
    for (const m of members) m.stdin?.end();
  };
}
/** Runs the measured process once; resolves with its figures. */
async function measure(mesh: boolean, floor = false): Promise<Record<string, unknown>> {
  // The measured process first measures itself idle, alone; then the members start (without
  // the mesh nobody else runs: the agent's Monitor watches its peers alone).
  const measured = spawn(process.execPath, [NODE, config(0, true, mesh, floor)], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  children.push(measured);
  const lines = createInterface({ input: measured.stdout as NodeJS.ReadableStream })[Symbol.asyncIterator]();
  const exited = new Promise<never>((_, reject) =>
    measured.once("exit", (c) => reject(new Error(`measured process exited with ${c}`))),
  );
  const next = async (): Promise<string> => {
    const r = await Promise.race([lines.next(), exited]);
    if (r.done === true) throw new Error("measured process closed its output");
    return r.value;
  };
  await next(); // idle window measured
  const stopMembers = mesh || floor ? startMembers(floor) : () => {};
  try {
    measured.stdin?.write("go\n");
    const line = await next();
    measured.stdin?.end();
    return JSON.parse(line) as Record<string, unknown>;
  } finally {
    stopMembers();
  }
}

// CPU figures depend on how busy the machine is: the 1-minute load average is printed.
const loadBefore = loadavg()[0] ?? 0;
try {
  // The same process without the mesh first (its peers only), for comparison.
  const withoutMesh = await measure(false);
  // The floor: the same HTTP exchanges by hand, without the library, in a mesh of hand loops.
  const floor = await measure(true, true);
  const figures = await measure(true);
  process.stdout.write(
    `${JSON.stringify({
      bench: "embed-cost",
      node: process.version,
      interval_ms: interval,
      window_s: seconds,
      load_average_1m: { before: round2(loadBefore), after: round2(loadavg()[0] ?? 0) },
      peers: peerCount,
      members: 2,
      ...figures,
      without_mesh: withoutMesh,
      bare_http_floor: { ...floor, spread },
      goal: { rss_added_mb: 3, cpu_added_percent_of_core: 0.3 },
    })}\n`,
  );
} finally {
  for (const c of children) c.stdin?.end();
  servers.stop();
}
