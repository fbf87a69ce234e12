// What `wdmesh demo --containers` asks of a Docker or Podman engine, through the Docker
// Engine API on its unix socket: find a reachable engine, make an image when none is
// given (no registry is needed: a skeleton root filesystem, imported as an image, whose
// /usr is the host's own, bind-mounted read-only), create and remove the demo's network
// and containers. Only ordinary API fields are sent; a constrained host's extra
// HostConfig fields come from the user (--host-config), never from here.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { CONTAINER_DEFAULTS } from "../core/defaults.js";
import { ENGINE_API_VERSION, EngineClient } from "../engine/client.js";

/** A failure of the container demo that the user can act on: a message and what to do. */
export class DemoError extends Error {
  constructor(
    readonly code: "WDM_DEMO_NO_ENGINE" | "WDM_DEMO_ENGINE" | "WDM_DEMO_OUTCOME",
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = "DemoError";
  }
}

export interface FoundEngine {
  socket: string;
  engine: "docker" | "podman";
  /** e.g. "Podman Engine 4.3.1". */
  version: string;
  client: EngineClient;
}

const REQUEST_MS = 30_000;

/** The sockets tried, in order: --socket alone when given; else DOCKER_HOST, Docker's, Podman's. */
export function candidateSockets(socket: string | undefined, env: NodeJS.ProcessEnv): string[] {
  if (socket) return [socket];
  const out: string[] = [];
  const host = env.DOCKER_HOST;
  if (host?.startsWith("unix://")) out.push(host.slice("unix://".length));
  out.push(CONTAINER_DEFAULTS.dockerSocket, CONTAINER_DEFAULTS.podmanSocket);
  return [...new Set(out)];
}

/** The first engine that answers GET /version; DemoError (WDM_DEMO_NO_ENGINE) naming every try when none does. */
export async function findEngine(socket: string | undefined, env: NodeJS.ProcessEnv): Promise<FoundEngine> {
  const tried: string[] = [];
  const host = env.DOCKER_HOST;
  if (!socket && host && !host.startsWith("unix://")) {
    tried.push(`DOCKER_HOST=${host} is not a unix socket (the demo speaks to a local engine only)`);
  }
  for (const s of candidateSockets(socket, env)) {
    if (!existsSync(s)) {
      tried.push(`${s}: does not exist`);
      continue;
    }
    const client = new EngineClient({ socket: s, engine: "engine", timeoutMs: 10_000 });
    const r = await client.request<{ Version?: string; Components?: Array<{ Name?: string }> }>(
      "GET",
      "/version",
    );
    if (!r.ok) {
      tried.push(r.error);
      continue;
    }
    const name = r.body?.Components?.[0]?.Name ?? "Docker Engine";
    const engine = /podman/i.test(name) ? "podman" : "docker";
    return {
      socket: s,
      engine,
      version: `${name} ${r.body?.Version ?? "?"}`,
      client: new EngineClient({ socket: s, engine, timeoutMs: REQUEST_MS }),
    };
  }
  throw new DemoError(
    "WDM_DEMO_NO_ENGINE",
    `no container engine answers: ${tried.join("; ")}`,
    "start Docker (systemctl start docker) or Podman's API service (systemctl start podman.socket, or podman system service --time=0 unix:///run/podman/podman.sock), or point --socket (or DOCKER_HOST=unix://PATH) at the engine's socket; access to it is root on the host, so run the demo as root or as a user in the socket's group",
  );
}

/** Throws a DemoError naming the step when the engine refuses it. */
export async function must<T>(
  e: FoundEngine,
  what: string,
  method: "GET" | "POST" | "DELETE",
  path: string,
  body?: unknown,
): Promise<T> {
  const r = await e.client.request<T>(method, path, body);
  if (!r.ok) throw new DemoError("WDM_DEMO_ENGINE", `${what}: ${r.error}`);
  return r.body;
}

/** A skeleton root filesystem in `dir` that runs the host's own /usr (a merged /usr). */
export function makeRootfs(dir: string): void {
  for (const d of ["usr", "etc", "proc", "sys", "dev", "tmp", "run", "state", "var/tmp"]) {
    mkdirSync(join(dir, d), { recursive: true });
  }
  for (const l of ["bin", "lib", "lib64", "sbin"]) symlinkSync(`usr/${l}`, join(dir, l));
  writeFileSync(join(dir, "etc/passwd"), "root:x:0:0:root:/:/bin/sh\n");
  writeFileSync(join(dir, "etc/group"), "root:x:0:\n");
}

/**
 * Imports a skeleton root filesystem (directories, /bin → usr/bin...) as an image and returns its id
 * (POST /images/create?fromSrc=-, what `docker import` does). Containers of it get the
 * host's /usr bind-mounted read-only: they run the host's own shell and tools.
 */
export async function importSkeleton(
  e: FoundEngine,
  dir: string,
  repo: string,
  tag: string,
): Promise<string> {
  const root = join(dir, "rootfs");
  makeRootfs(root);
  const tar = spawn("tar", ["-C", root, "-cf", "-", "."], { stdio: ["ignore", "pipe", "pipe"] });
  let tarErr = "";
  tar.stderr.on("data", (d: Buffer) => (tarErr += d.toString()));
  const tarDone = new Promise<number | null>((r) => {
    tar.once("error", (err) => ((tarErr += err.message), r(-1)));
    tar.once("close", r);
  });
  const answer = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = request(
      {
        socketPath: e.socket,
        method: "POST",
        path: `/${ENGINE_API_VERSION}/images/create?fromSrc=-&repo=${encodeURIComponent(repo)}&tag=${encodeURIComponent(tag)}`,
        headers: { host: "engine", "content-type": "application/x-tar" },
        timeout: REQUEST_MS,
      },
      (res) => {
        let text = "";
        res.on("data", (c: Buffer) => (text += c.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.on("timeout", () => req.destroy(new Error(`no answer within ${REQUEST_MS} ms`)));
    tar.stdout.pipe(req);
  }).catch((err: Error) => {
    throw new DemoError("WDM_DEMO_ENGINE", `importing the demo's image into ${e.socket}: ${err.message}`);
  });
  const code = await tarDone;
  if (code !== 0) {
    throw new DemoError(
      "WDM_DEMO_ENGINE",
      `tar (building the demo's root filesystem) failed: ${tarErr.trim() || `exit ${code}`}`,
      "install tar, or give an image you have with --image",
    );
  }
  if (answer.status >= 400 || /"error"/.test(answer.text)) {
    throw new DemoError(
      "WDM_DEMO_ENGINE",
      `the engine refused to import the demo's image (${answer.status}): ${answer.text.trim().slice(0, 300)}`,
      "give an image you already have with --image (it needs /bin/sh and test)",
    );
  }
  // The answer is JSON lines; the image's id is in one of them (Docker: status; Podman: id
  // and status). The id, not repo:tag, names it from here on: some engines ignore the tag.
  const id = /sha256:[0-9a-f]{64}/.exec(answer.text)?.[0];
  if (!id) {
    throw new DemoError(
      "WDM_DEMO_ENGINE",
      `the engine's answer to the image import names no image id: ${answer.text.trim().slice(0, 300)}`,
      "give an image you already have with --image (it needs /bin/sh and test)",
    );
  }
  return id;
}

export interface DemoContainer {
  name: string;
  image: string;
  /** Bind the host's /usr read-only (the skeleton image). */
  hostUsr: boolean;
  network: string;
  labels: Record<string, string>;
  /** Host directory mounted at /state. */
  stateDir: string;
  /** HEALTHCHECK: healthy while /state/ok exists. */
  healthcheck: boolean;
  /** Extra HostConfig fields (--host-config), for constrained hosts. */
  hostConfig: Record<string, unknown>;
}

const SECOND_NS = 1_000_000_000;

/** Creates and starts a container that sleeps until stopped. */
export async function runContainer(e: FoundEngine, c: DemoContainer): Promise<void> {
  const body = {
    Image: c.image,
    Cmd: ["/bin/sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"],
    Labels: c.labels,
    ...(c.healthcheck
      ? {
          Healthcheck: {
            Test: ["CMD-SHELL", "test -e /state/ok"],
            Interval: SECOND_NS,
            Timeout: 2 * SECOND_NS,
            Retries: 1,
          },
        }
      : {}),
    HostConfig: {
      Binds: [...(c.hostUsr ? ["/usr:/usr:ro"] : []), `${c.stateDir}:/state`],
      NetworkMode: c.network,
      ...c.hostConfig,
    },
  };
  await must(
    e,
    `creating container ${c.name}`,
    "POST",
    `/containers/create?name=${encodeURIComponent(c.name)}`,
    body,
  );
  const started = await e.client.request("POST", `/containers/${encodeURIComponent(c.name)}/start`);
  if (!started.ok) {
    throw new DemoError(
      "WDM_DEMO_ENGINE",
      `starting container ${c.name}: ${started.error}`,
      c.hostUsr
        ? "the skeleton image runs the host's own /usr (it needs a merged /usr, as on current Debian, Ubuntu and Fedora): give an image you have with --image; on a constrained host see --host-config"
        : "the image needs /bin/sh and test; on a constrained host see --host-config",
    );
  }
}

/** Removes what the demo made; every failure is collected, none thrown. */
export async function removeAll(
  e: FoundEngine,
  made: { containers: string[]; network?: string; image?: string },
): Promise<string[]> {
  const problems: string[] = [];
  const del = async (what: string, path: string): Promise<void> => {
    const r = await e.client.request("DELETE", path);
    if (!r.ok && r.code !== "WDM_CONTAINER_GONE") problems.push(`${what}: ${r.error}`);
  };
  for (const c of made.containers)
    await del(`container ${c}`, `/containers/${encodeURIComponent(c)}?force=true&v=true`);
  if (made.network) await del(`network ${made.network}`, `/networks/${encodeURIComponent(made.network)}`);
  if (made.image) await del(`image ${made.image}`, `/images/${encodeURIComponent(made.image)}?force=true`);
  return problems;
}
