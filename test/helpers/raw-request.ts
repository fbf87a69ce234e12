// An HTTP request to 127.0.0.1 with headers fetch() will not send as given (Host, Origin):
// for the API's DNS-rebinding and cross-site checks. Gives up after 10 s.
import { request } from "node:http";

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
