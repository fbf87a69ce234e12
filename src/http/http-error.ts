// Errors answered by the API as JSON `{"error": {"code", "message"}}`.
import type { ServerResponse } from "node:http";
import { WatchdogError } from "../core/errors.js";

export type ApiErrorCode =
  | "WDM_BAD_REQUEST"
  | "WDM_UNAUTHORIZED"
  | "WDM_FORBIDDEN"
  | "WDM_MISDIRECTED"
  | "WDM_NOT_FOUND"
  | "WDM_UNKNOWN_PEER"
  | "WDM_UNKNOWN_SINK"
  | "WDM_METHOD_NOT_ALLOWED"
  | "WDM_CONFLICT"
  | "WDM_PAYLOAD_TOO_LARGE"
  | "WDM_RATE_LIMITED"
  | "WDM_UNAVAILABLE"
  | "WDM_INTERNAL";

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: ApiErrorCode | string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "HttpError";
  }
}

/** Maps a product error thrown by the backend to its HTTP answer; undefined for anything else. */
export function fromWatchdogError(err: unknown): HttpError | undefined {
  if (!(err instanceof WatchdogError)) return undefined;
  switch (err.code) {
    case "WDM_UNKNOWN_PEER":
      return new HttpError(404, err.code, err.message);
    case "WDM_INVALID_STATE":
      return new HttpError(409, err.code, err.message);
    case "WDM_INVALID_DURATION":
    case "WDM_INVALID_OPTION":
      return new HttpError(400, err.code, err.message);
    case "WDM_STATE_STORE":
      return new HttpError(503, err.code, err.message);
    default:
      return new HttpError(500, err.code, err.message);
  }
}

const JSON_HEADERS = {
  "Content-Type": "application/json; charset=utf-8",
  "Cache-Control": "no-store",
  "X-Content-Type-Options": "nosniff",
};

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  sendJsonText(res, status, JSON.stringify(body), headers);
}

/** Sends an already serialised JSON body. */
export function sendJsonText(
  res: ServerResponse,
  status: number,
  text: string,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, { ...JSON_HEADERS, "Content-Length": Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function sendError(res: ServerResponse, err: HttpError): void {
  sendJson(res, err.status, { error: { code: err.code, message: err.message } }, err.headers);
}
