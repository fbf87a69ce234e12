// Shared helpers for benchmarks: start the peer-server child, sample memory.
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
export { freePort } from "../test/helpers/ports.js";

export interface PeerServers {
  ports: number[];
  hungPort: number;
  child: ChildProcess;
  stop(): void;
}

export async function startPeerServers(count: number): Promise<PeerServers> {
  const script = fileURLToPath(new URL("./fixtures/peer-servers.mjs", import.meta.url));
  const child = spawn(process.execPath, [script, String(count)], { stdio: ["pipe", "pipe", "inherit"] });
  const rl = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const line = await new Promise<string>((resolve, reject) => {
    rl.once("line", resolve);
    child.once("exit", (c) => reject(new Error(`peer servers exited with ${c}`)));
  });
  rl.close();
  const info = JSON.parse(line) as { ports: number[]; hungPort: number };
  return { ...info, child, stop: () => child.stdin?.end() };
}

export function rssMb(): number {
  return Math.round((process.memoryUsage.rss() / 1024 / 1024) * 10) / 10;
}

export function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
