// Reading the parts of a request the routes share: integer query parameters and journal
// seqs, percent-decoded path segments, the path without its query (for logs) and who
// called (for the journal's reason). A malformed part is a 400 naming it.
import type { IncomingMessage } from "node:http";
import { HttpError } from "../http/http-error.js";

/** A non-negative integer as the API accepts it in a query or a header (at most 15 digits). */
const INT = /^\d{1,15}$/;

/** True when `raw` is a non-negative integer the API accepts (a journal seq, a limit). */
export function isIntText(raw: string): boolean {
  return INT.test(raw);
}

/** Query parameter `name` as an integer from `min` to `max`; `dflt` when absent or empty. */
export function intParam(url: URL, name: string, dflt: number, min: number, max: number): number {
  const raw = url.searchParams.get(name);
  if (raw === null || raw === "") return dflt;
  if (!INT.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new HttpError(
      400,
      "WDM_BAD_REQUEST",
      `query parameter ${name}=${JSON.stringify(raw)} must be an integer from ${min} to ${max}`,
    );
  }
  return Number(raw);
}

export function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new HttpError(
      400,
      "WDM_BAD_REQUEST",
      `malformed percent-encoding in path segment ${JSON.stringify(s)}`,
    );
  }
}

/** Who asked, as the journal records it: `api <remote address>`. */
export function caller(req: IncomingMessage): string {
  return `api ${req.socket.remoteAddress ?? "unknown"}`;
}

/** The request's path without its query, at most 200 characters (for logs). */
export function pathOnly(url: string | undefined): string {
  const u = url ?? "/";
  const q = u.indexOf("?");
  return (q < 0 ? u : u.slice(0, q)).slice(0, 200);
}
