// The journal: a page of entries (GET /v1/events?after=&limit=) and the live stream
// (GET /v1/events/stream, resumable with Last-Event-ID; ?probes=1 adds probe results).
// The stream itself, with its per-client budget, is sse.ts.
import { HttpError, sendJson } from "../../http/http-error.js";
import { intParam, isIntText } from "../request.js";
import type { RouteContext } from "../router.js";
import { API_DEFAULTS } from "../../core/defaults.js";

/** Most journal entries per GET /v1/events page. */
export const MAX_EVENTS_LIMIT = 1000;

export function page({ res, url, api }: RouteContext): void {
  const after = intParam(url, "after", 0, 0, Number.MAX_SAFE_INTEGER);
  const limit = intParam(url, "limit", API_DEFAULTS.listLimit, 1, MAX_EVENTS_LIMIT);
  sendJson(res, 200, api.backend.events(after, limit));
}

export function stream({ req, res, url, api }: RouteContext): void {
  const last = req.headers["last-event-id"];
  let after: number | undefined;
  if (typeof last === "string" && last !== "") {
    if (!isIntText(last))
      throw new HttpError(400, "WDM_BAD_REQUEST", "Last-Event-ID must be a journal seq (integer)");
    after = Number(last);
  } else if (url.searchParams.has("after")) {
    after = intParam(url, "after", 0, 0, Number.MAX_SAFE_INTEGER);
  }
  const probes = url.searchParams.get("probes");
  if (probes !== null && probes !== "0" && probes !== "1")
    throw new HttpError(400, "WDM_BAD_REQUEST", "probes must be 1 (send probe results too) or 0");
  api.hub.open(req, res, after, { probes: probes === "1" });
}
