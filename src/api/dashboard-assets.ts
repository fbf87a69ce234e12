// The dashboard's static files (web/ of the package), read once when the API server is
// created and served from memory: GET / is web/index.html, GET /web/NAME one of the files
// below. Requests are looked up by exact name in a fixed table, so no request path ever
// reaches the filesystem (nothing to traverse). The files hold no node data: the page
// fetches everything from the read routes, with the operator's token when one is needed.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The dashboard's files and their media types. */
const FILES: Readonly<Record<string, string>> = {
  "index.html": "text/html; charset=utf-8",
  "dashboard.js": "text/javascript; charset=utf-8",
  "dashboard.css": "text/css; charset=utf-8",
};

/** CSP of every dashboard response: only this origin's script, style and fetches; no inline code, no framing. */
export const DASHBOARD_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** URL prefix of the dashboard's script and style sheet. */
export const ASSET_PREFIX = "/web/";

export interface DashboardAsset {
  body: Buffer;
  contentType: string;
  /** Strong validator: quoted SHA-256 prefix of the body. */
  etag: string;
}

/** The package's web/ directory: ../../web from both src/api/ and dist/api/. */
export function defaultWebDir(): string {
  return fileURLToPath(new URL("../../web/", import.meta.url));
}

export class DashboardAssets {
  private readonly files = new Map<string, DashboardAsset>();
  /**
   * Why the dashboard cannot be served (a file of web/ could not be read), else undefined.
   * A missing dashboard never stops the node: GET / then answers 503 with this reason.
   */
  readonly problem: string | undefined;

  /** Reads every dashboard file now. */
  constructor(readonly dir: string = defaultWebDir()) {
    const problems: string[] = [];
    for (const [name, contentType] of Object.entries(FILES)) {
      let body: Buffer;
      try {
        body = readFileSync(join(dir, name));
      } catch (e) {
        problems.push(
          `cannot read ${join(dir, name)} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
        );
        continue;
      }
      const etag = `"${createHash("sha256").update(body).digest("hex").slice(0, 32)}"`;
      this.files.set(name, { body, contentType, etag });
    }
    this.problem =
      problems.length === 0
        ? undefined
        : `the dashboard is unavailable: ${problems.join("; ")}; reinstall the package (its web/ directory ships with it). The JSON API still works, e.g. GET /v1/mesh`;
  }

  /** The page served on GET /, or undefined when it could not be read (see problem). */
  get index(): DashboardAsset | undefined {
    return this.files.get("index.html");
  }

  /** The asset named by the part of the path after /web/, or undefined (→ 404). */
  asset(name: string): DashboardAsset | undefined {
    return Object.hasOwn(FILES, name) ? this.files.get(name) : undefined;
  }
}

/** Writes one asset with its headers; answers 304 when the client's copy is current. */
export function sendAsset(req: IncomingMessage, res: ServerResponse, asset: DashboardAsset): void {
  const headers: Record<string, string | number> = {
    "Content-Type": asset.contentType,
    // Revalidated on every load (ETag), so an upgraded node never serves a stale script.
    "Cache-Control": "no-cache",
    ETag: asset.etag,
    "Content-Security-Policy": DASHBOARD_CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
  };
  const inm = req.headers["if-none-match"];
  if (typeof inm === "string" && inm.split(",").some((t) => t.trim() === asset.etag)) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  headers["Content-Length"] = asset.body.length;
  res.writeHead(200, headers);
  res.end(asset.body);
}
