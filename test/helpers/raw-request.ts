// An HTTP request to 127.0.0.1 with headers fetch() will not send as given (Host, Origin):
// for the API's DNS-rebinding and cross-site checks; and raw bytes on a socket (a path
// fetch() would normalise, garbage, a request that never ends) for the API's robustness.
// Both give up after 10 s.
import { request } from "node:http";
import { connect } from "node:net";

/** Sends `method path` with exactly `headers` to 127.0.0.1:`port`; resolves with status and body. */
export function rawRequest(
  port: number,
  path: string,
  headers: Record<string, string>,
  method = "GET",
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, method, headers }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (d: string) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.setTimeout(10_000, () => req.destroy(new Error("timeout")));
    req.end();
  });
}

/** Writes `bytes` to a socket on 127.0.0.1:`port` and resolves with everything read until the server closes it. */
export function rawExchange(port: number, bytes: string | Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: "127.0.0.1", port });
    let out = "";
    s.setEncoding("utf8");
    s.on("data", (d: string) => (out += d));
    s.on("end", () => resolve(out));
    s.on("close", () => resolve(out));
    s.on("error", reject);
    s.setTimeout(10_000, () => {
      s.destroy();
      reject(new Error("no answer within 10 s"));
    });
    s.write(bytes);
  });
}
