// Request bodies: bounded in size, JSON only where a body is expected.
import type { IncomingMessage } from "node:http";
import { HttpError } from "../http/http-error.js";

/** Reads the whole body, at most `maxBytes` bytes; more → 413 (checked on Content-Length first). */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = req.headers["content-length"];
  if (declared !== undefined && Number(declared) > maxBytes) {
    return Promise.reject(tooLarge(maxBytes));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (err: Error | null): void => {
      if (done) return;
      done = true;
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
      req.off("aborted", onAborted);
      if (err) reject(err);
      else resolve(Buffer.concat(chunks, size));
    };
    const onData = (c: Buffer): void => {
      size += c.length;
      if (size > maxBytes) {
        // Stop reading; the response closes the connection.
        req.pause();
        finish(tooLarge(maxBytes));
        return;
      }
      chunks.push(c);
    };
    const onEnd = (): void => finish(null);
    const onError = (e: Error): void =>
      finish(new HttpError(400, "WDM_BAD_REQUEST", `could not read the request body: ${e.message}`));
    const onAborted = (): void =>
      finish(new HttpError(400, "WDM_BAD_REQUEST", "the client aborted the request body"));
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
    req.on("aborted", onAborted);
  });
}

function tooLarge(maxBytes: number): HttpError {
  return new HttpError(413, "WDM_PAYLOAD_TOO_LARGE", `request body larger than ${maxBytes} bytes`, {
    Connection: "close",
  });
}

/** Reads a JSON object body; 400 with the reason for a wrong content type, bad JSON or a non-object. */
export async function readJsonObject(
  req: IncomingMessage,
  maxBytes: number,
): Promise<Record<string, unknown>> {
  const type = (req.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase();
  if (type !== "application/json") {
    throw new HttpError(
      400,
      "WDM_BAD_REQUEST",
      `expected Content-Type: application/json, got ${type ? JSON.stringify(type) : "none"}`,
    );
  }
  const raw = await readBody(req, maxBytes);
  let value: unknown;
  try {
    value = JSON.parse(raw.toString("utf8"));
  } catch (e) {
    throw new HttpError(400, "WDM_BAD_REQUEST", `request body is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new HttpError(400, "WDM_BAD_REQUEST", "request body must be a JSON object");
  }
  return value as Record<string, unknown>;
}
