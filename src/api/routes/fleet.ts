// GET /v1/fleet (the fleet as this node sees it in etcd: members, steps, whether steps
// are held) and GET /v1/sd (Prometheus http_sd: every live node of the fleet).
import { HttpError, sendJson } from "../../http/http-error.js";
import type { RouteContext } from "../router.js";

function noFleet(): HttpError {
  return new HttpError(
    404,
    "WDM_NOT_FOUND",
    "this node is not in a fleet: coordination.etcd is not configured (a single host lists its nodes in Prometheus' static_configs)",
  );
}

export function fleetState({ res, api }: RouteContext): void {
  if (!api.backend.fleet) throw noFleet();
  sendJson(res, 200, api.backend.fleet());
}

export function httpSd({ res, api }: RouteContext): void {
  if (!api.backend.sd) throw noFleet();
  sendJson(res, 200, api.backend.sd());
}
