// Starts the real API listener on 127.0.0.1:0 with a fake backend.
import { after, before } from "node:test";
import { createApiServer, type ApiServerOptions } from "../../src/api/server.js";
import { FakeBackend, type FakeBackendOptions } from "../helpers/fake-backend.js";

export interface Harness {
  url: string;
  port: number;
  backend: FakeBackend;
  logs: Array<{ level: string; obj: object; msg?: string }>;
  close(): Promise<void>;
}

export async function startApi(
  opts: Partial<Omit<ApiServerOptions, "backend">> & { backendOptions?: FakeBackendOptions } = {},
): Promise<Harness> {
  const backend = new FakeBackend(opts.backendOptions);
  const logs: Harness["logs"] = [];
  const rec = (level: string) => (obj: object, msg?: string) => logs.push({ level, obj, msg });
  const api = createApiServer({
    logger: { debug: rec("debug"), info: rec("info"), warn: rec("warn"), error: rec("error") },
    ...opts,
    backend,
  });
  const addr = await api.listen({ host: "127.0.0.1", port: 0 });
  return { url: addr.url, port: addr.port, backend, logs, close: () => api.close() };
}

/**
 * The API of the enclosing describe: started before its tests and closed after them. The
 * object returned is filled in by `before`, so the tests read `h.url` as they would after
 * `startApi`.
 */
export function apiForSuite(opts: Parameters<typeof startApi>[0] = {}): Harness {
  const h = {} as Harness;
  before(async () => {
    Object.assign(h, await startApi(opts));
  });
  after(() => h.close());
  return h;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- test JSON of any shape
type AnyJson = any;

export async function getJson(
  url: string,
  init: RequestInit = {},
): Promise<{ status: number; headers: Headers; body: AnyJson }> {
  const res = await fetch(url, init);
  const text = await res.text();
  let body: unknown = text;
  if ((res.headers.get("content-type") ?? "").startsWith("application/json")) body = JSON.parse(text);
  return { status: res.status, headers: res.headers, body };
}

export const bearer = (t: string): Record<string, string> => ({ authorization: `Bearer ${t}` });
