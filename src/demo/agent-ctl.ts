// The demo's remediation commands (wired as `restart: {command: ...}` and
// `isolate: {command: ..., release: ...}`), standing in for systemctl:
//   node agent-ctl.js start|restart|isolate|release --name N --port P --dir D [--mode ok|broken]
// restart: kill the agent's old process, start a new one, wait until /health answers.
// isolate: kill it and leave it down. release: start it again in mode ok.
import { spawn } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

export function pidFile(dir: string, name: string): string {
  return join(dir, `${name}.pid`);
}

export function agentPid(dir: string, name: string): number | null {
  try {
    const pid = Number(readFileSync(pidFile(dir, name), "utf8"));
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

export function killAgent(dir: string, name: string, signal: NodeJS.Signals = "SIGKILL"): boolean {
  const pid = agentPid(dir, name);
  if (pid === null) return false;
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

export function startAgent(dir: string, name: string, port: number, mode: string): number {
  const script = fileURLToPath(new URL("./agent.js", import.meta.url));
  const child = spawn(process.execPath, [script, "--name", name, "--port", String(port), "--mode", mode], {
    detached: true,
    stdio: "ignore",
  });
  child.unref();
  writeFileSync(pidFile(dir, name), String(child.pid));
  return child.pid as number;
}

async function waitHealthy(port: number, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(300) });
      await r.body?.cancel();
      return true; // listening (a broken agent answers 503: it is up, just not healthy)
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return false;
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      name: { type: "string" },
      port: { type: "string" },
      dir: { type: "string" },
      mode: { type: "string", default: "ok" },
    },
  });
  const [verb] = positionals;
  const name = values.name as string;
  const port = Number(values.port);
  const dir = values.dir as string;
  switch (verb) {
    case "start":
    case "restart": {
      killAgent(dir, name);
      const pid = startAgent(dir, name, port, values.mode as string);
      const up = await waitHealthy(port, 3000);
      process.stdout.write(`${name}: new pid ${pid}${up ? "" : " (not answering yet)"}\n`);
      return up ? 0 : 1;
    }
    case "isolate":
      killAgent(dir, name);
      rmSync(pidFile(dir, name), { force: true });
      process.stdout.write(`${name}: stopped and kept down\n`);
      return 0;
    case "release": {
      const pid = startAgent(dir, name, port, "ok");
      const up = await waitHealthy(port, 3000);
      process.stdout.write(`${name}: started again, pid ${pid}\n`);
      return up ? 0 : 1;
    }
    default:
      process.stderr.write("usage: agent-ctl start|restart|isolate|release --name N --port P --dir D\n");
      return 2;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`agent-ctl: ${String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
