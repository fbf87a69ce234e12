// The dashboard's page and files (web/). Open even with node.read_token: its files carry
// no node data, and a browser cannot attach a bearer token to a page load; the page reads
// every datum through the read routes, sending the token the operator types in.
import { sendAsset } from "../dashboard-assets.js";
import { HttpError } from "../../http/http-error.js";
import type { RouteContext } from "../router.js";

export function page({ req, res, api }: RouteContext): void {
  const { dashboard } = api;
  const index = dashboard.index;
  if (!index)
    throw new HttpError(503, "WDM_UNAVAILABLE", dashboard.problem ?? "the dashboard is unavailable");
  sendAsset(req, res, index);
}

export function asset({ req, res, params, api }: RouteContext): void {
  const name = params.name as string;
  const file = api.dashboard.asset(name);
  if (!file) {
    throw new HttpError(
      404,
      "WDM_NOT_FOUND",
      `no dashboard asset ${JSON.stringify(name.slice(0, 100))}; the dashboard is served on GET /`,
    );
  }
  sendAsset(req, res, file);
}
