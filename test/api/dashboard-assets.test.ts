// The dashboard's static routes on the real API listener: GET / and GET /web/NAME serve
// the package's web/ files with their media types, caching and CSP headers; nothing else
// of the filesystem is reachable, whatever the path encoding.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { DASHBOARD_CSP } from "../../src/api/dashboard-assets.js";
import { peer } from "../helpers/fake-backend.js";
import { rawExchange } from "../helpers/raw-request.js";
import { apiForSuite, bearer, getJson } from "./harness.js";

const WEB = fileURLToPath(new URL("../../web/", import.meta.url));
const PACKAGE_JSON = readFileSync(fileURLToPath(new URL("../../package.json", import.meta.url)), "utf8");

/** Sends one request exactly as written (fetch would normalise the path) and returns the raw response. */
const rawGet = (port: number, target: string): Promise<string> =>
  rawExchange(port, `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);

const statusOf = (raw: string): number => Number(/^HTTP\/1\.1 (\d{3}) /.exec(raw)?.[1] ?? 0);

function assertDashboardHeaders(h: Headers, what: string): void {
  const csp = h.get("content-security-policy") ?? "";
  for (const directive of [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "connect-src 'self'",
    "img-src 'self' data:",
    "frame-ancestors 'none'",
  ]) {
    assert.ok(
      csp
        .split(";")
        .map((d) => d.trim())
        .includes(directive),
      `${what}: CSP ${JSON.stringify(csp)} lacks ${directive}`,
    );
  }
  assert.ok(!csp.includes("unsafe"), `${what}: CSP allows nothing unsafe`);
  assert.equal(h.get("cache-control"), "no-cache", what);
  assert.match(h.get("etag") ?? "", /^"[0-9a-f]{32}"$/, what);
  assert.equal(h.get("x-content-type-options"), "nosniff", what);
  assert.equal(h.get("x-frame-options"), "DENY", what);
  assert.equal(h.get("referrer-policy"), "no-referrer", what);
}

void describe("dashboard asset routes", () => {
  const h = apiForSuite({ apiToken: "ctl-token", backendOptions: { peers: [peer("sidecar", "HEALTHY")] } });

  void test("GET / serves web/index.html as HTML with the strict CSP", async () => {
    const res = await fetch(`${h.url}/`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "text/html; charset=utf-8");
    assertDashboardHeaders(res.headers, "/");
    assert.equal(res.headers.get("content-security-policy"), DASHBOARD_CSP);
    const html = await res.text();
    assert.equal(html, readFileSync(`${WEB}index.html`, "utf8"));
    assert.match(html, /<script type="module" src="\/web\/dashboard\.js"><\/script>/);
    assert.match(html, /<link rel="stylesheet" href="\/web\/dashboard\.css" ?\/?>/);
    // The CSP forbids inline code: the page must have none, or it would not work.
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, "no inline <script>");
    assert.doesNotMatch(html, /<style|\sstyle=|\son[a-z]+=/i, "no inline style or event handler attributes");
  });

  void test("GET /web/dashboard.js and /web/dashboard.css serve the files with their media types", async () => {
    const cases = [
      ["dashboard.js", "text/javascript; charset=utf-8"],
      ["dashboard.css", "text/css; charset=utf-8"],
    ] as const;
    for (const [name, type] of cases) {
      const res = await fetch(`${h.url}/web/${name}`);
      assert.equal(res.status, 200, name);
      assert.equal(res.headers.get("content-type"), type, name);
      assertDashboardHeaders(res.headers, name);
      const body = Buffer.from(await res.arrayBuffer());
      assert.ok(body.equals(readFileSync(`${WEB}${name}`)), `${name} is served byte for byte`);
      assert.equal(Number(res.headers.get("content-length")), body.length, name);
    }
  });

  void test("the script never writes HTML from data (no innerHTML / insertAdjacentHTML / document.write)", () => {
    const js = readFileSync(`${WEB}dashboard.js`, "utf8").replace(/^\s*\/\/.*$/gm, "");
    assert.doesNotMatch(js, /innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function/);
    assert.doesNotMatch(js, /console\./, "the script logs nothing (the token must never reach a log)");
    assert.doesNotMatch(js, /localStorage/, "the token is kept in sessionStorage only");
  });

  void test("a current copy is revalidated with 304 and no body", async () => {
    const first = await fetch(`${h.url}/web/dashboard.js`);
    await first.arrayBuffer();
    const etag = first.headers.get("etag") as string;
    const again = await fetch(`${h.url}/web/dashboard.js`, {
      headers: { "if-none-match": `"other", ${etag}` },
    });
    assert.equal(again.status, 304);
    assert.equal(again.headers.get("etag"), etag);
    assert.equal((await again.arrayBuffer()).byteLength, 0);
    const stale = await fetch(`${h.url}/web/dashboard.js`, { headers: { "if-none-match": '"0000"' } });
    assert.equal(stale.status, 200);
    await stale.arrayBuffer();
  });

  void test("HEAD / answers the headers without a body; POST / is 405", async () => {
    const head = await fetch(`${h.url}/`, { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get("content-type"), "text/html; charset=utf-8");
    assert.equal((await head.arrayBuffer()).byteLength, 0);
    const post = await getJson(`${h.url}/`, { method: "POST" });
    assert.equal(post.status, 405);
    assert.match(post.headers.get("allow") ?? "", /GET/);
  });

  void test("an unknown asset is 404 with a JSON reason", async () => {
    for (const path of [
      "/web/nope.js",
      "/web/",
      "/web/dashboard.js/x",
      "/web/DASHBOARD.JS",
      "/web/dashboard.js.map",
      "/dashboard.js",
      "/web",
    ]) {
      const r = await getJson(`${h.url}${path}`);
      assert.equal(r.status, 404, path);
      assert.equal(r.body.error.code, "WDM_NOT_FOUND", path);
    }
    const proto = await getJson(`${h.url}/web/__proto__`);
    assert.equal(proto.status, 404, "object prototype keys are not assets");
    const ctor = await getJson(`${h.url}/web/constructor`);
    assert.equal(ctor.status, 404);
  });

  void test("path traversal reaches nothing outside the asset table", async () => {
    const attempts = [
      "/..%2f..%2fpackage.json",
      "/web/..%2f..%2fpackage.json",
      "/web/..%2Fpackage.json",
      "/web/../src",
      "/web/../package.json",
      "/web/../../package.json",
      "/web/%2e%2e/package.json",
      "/web/%2e%2e%2fpackage.json",
      "/web/..%5c..%5cpackage.json",
      "/web/....//package.json",
      "/web/%252e%252e%252fpackage.json",
      "/web/dashboard.js%00.html",
      "/web/%2fetc%2fpasswd",
      "//etc/passwd",
      "/web//etc/passwd",
      "/../package.json",
      "/web/.%2e/src/api/server.ts",
    ];
    for (const target of attempts) {
      const raw = await rawGet(h.port, target);
      const status = statusOf(raw);
      assert.ok(status === 404 || status === 400, `${target}: expected 404 or 400, got ${status}`);
      assert.ok(
        !raw.includes(PACKAGE_JSON.slice(0, 60)) && !raw.includes('"devDependencies"'),
        `${target} leaked package.json`,
      );
      assert.ok(!raw.includes("root:x:0:0"), `${target} leaked /etc/passwd`);
      assert.ok(!raw.includes("createApiServer"), `${target} leaked a source file`);
    }
  });

  void test("dot segments are resolved before routing: /web/.. is the page itself, not a directory", async () => {
    const raw = await rawGet(h.port, "/web/..");
    assert.equal(statusOf(raw), 200);
    assert.ok(
      raw.endsWith(readFileSync(`${WEB}index.html`, "utf8")),
      "serves web/index.html (the GET / route)",
    );
  });

  void test("the page carries no node data (all of it is fetched by the script)", async () => {
    const html = await (await fetch(`${h.url}/`)).text();
    assert.ok(
      !html.includes("sidecar") && !html.includes("immune"),
      "no peer or node name in the static page",
    );
  });
});

void describe("dashboard with node.read_token", () => {
  const h = apiForSuite({ apiToken: "ctl-token", readToken: "read-token" });

  void test("the page and its assets load without a token; the data routes still require it", async () => {
    for (const path of ["/", "/web/dashboard.js", "/web/dashboard.css"]) {
      const res = await fetch(`${h.url}${path}`);
      assert.equal(res.status, 200, path);
      await res.arrayBuffer();
    }
    assert.equal((await getJson(`${h.url}/v1/mesh`)).status, 401);
    assert.equal((await getJson(`${h.url}/v1/mesh`, { headers: bearer("read-token") })).status, 200);
  });
});

void describe("dashboard files missing", () => {
  const h = apiForSuite({ webDir: "/nonexistent/wdmesh-web" });

  void test("GET / is 503 naming the file and the fix; the node and its JSON API keep working", async () => {
    const r = await getJson(`${h.url}/`);
    assert.equal(r.status, 503);
    assert.equal(r.body.error.code, "WDM_UNAVAILABLE");
    assert.match(
      r.body.error.message,
      /\/nonexistent\/wdmesh-web\/index\.html \(ENOENT\).*reinstall the package/,
    );
    assert.equal((await getJson(`${h.url}/web/dashboard.js`)).status, 404);
    assert.equal((await getJson(`${h.url}/v1/mesh`)).status, 200);
    assert.ok(
      h.logs.some((l) => l.level === "warn" && /dashboard is unavailable/.test(l.msg ?? "")),
      "the problem is logged once at startup",
    );
  });
});
