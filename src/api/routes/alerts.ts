// Alert delivery: the outbox as the operator inspects it (GET /v1/deliveries, filtered by
// state and sink) and one test alert sent to a sink now (POST /v1/alerts/:sink/test).
import type { DeliveryState } from "../../store/types.js";
import type { DeliveryFilter } from "../backend.js";
import { readBody } from "../body.js";
import { HttpError, sendJson } from "../../http/http-error.js";
import { intParam } from "../request.js";
import type { RouteContext } from "../router.js";
import { API_DEFAULTS } from "../../core/defaults.js";

const STATES: readonly string[] = ["pending", "dead", "delivered"] satisfies DeliveryState[];

export function deliveries({ res, url, api }: RouteContext): void {
  const filter: DeliveryFilter = { limit: intParam(url, "limit", API_DEFAULTS.listLimit, 1, 1000) };
  const state = url.searchParams.get("state");
  if (state !== null) {
    if (!STATES.includes(state)) {
      throw new HttpError(
        400,
        "WDM_BAD_REQUEST",
        `state=${JSON.stringify(state)}: use pending, dead or delivered`,
      );
    }
    filter.state = state as DeliveryState;
  }
  const sink = url.searchParams.get("sink");
  if (sink !== null && sink !== "") filter.sink = sink;
  sendJson(res, 200, api.backend.deliveries(filter));
}

export async function test({ req, res, params, api }: RouteContext): Promise<void> {
  await readBody(req, api.maxBodyBytes);
  const sink = params.sink as string;
  const result = await api.backend.alertsTest(sink);
  if (!result)
    throw new HttpError(
      404,
      "WDM_UNKNOWN_SINK",
      `no alert sink named ${JSON.stringify(sink)}; see alerts: in the config`,
    );
  sendJson(res, result.ok ? 200 : 502, result);
}
