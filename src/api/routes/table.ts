// Every route the HTTP API serves, one line each: method, path, who may call it, and the
// handler (in the file named for what the route serves). To add a route, write its
// handler there and add its line here. The README's "HTTP API" table lists the same.
// Order matters only for 405 answers: a path matched by several lines allows their methods.
import { route, type Route } from "../router.js";
import * as alerts from "./alerts.js";
import * as dashboard from "./dashboard.js";
import * as events from "./events.js";
import * as fleet from "./fleet.js";
import * as mesh from "./mesh.js";
import { metrics } from "./metrics.js";
import * as peers from "./peers.js";
import { reload } from "./reload.js";

export const ROUTES: readonly Route[] = [
  route("GET", "/health", "open", mesh.health),
  route("GET", "/", "open", dashboard.page),
  route("GET", "/web/:name", "open", dashboard.asset),
  route("GET", "/v1/mesh", "read", mesh.meshState),
  route("GET", "/v1/mesh/view", "open", mesh.meshView), // checks the member's signature itself
  route("GET", "/v1/peers/:name/history", "read", peers.history),
  route("GET", "/v1/peers/:name", "read", peers.peer),
  route("GET", "/v1/events", "read", events.page),
  route("GET", "/v1/events/stream", "read", events.stream),
  route("POST", "/v1/peers/:name/release", "control", peers.release),
  route("POST", "/v1/peers/:name/restart", "control", peers.restart),
  route("POST", "/v1/peers/:name/check", "control", peers.check),
  route("POST", "/v1/peers/:name/silence", "control", peers.silence),
  route("GET", "/v1/deliveries", "read", alerts.deliveries),
  route("POST", "/v1/alerts/:sink/test", "control", alerts.test),
  route("POST", "/v1/reload", "control", reload),
  route("GET", "/v1/fleet", "read", fleet.fleetState),
  route("GET", "/v1/sd", "read", fleet.httpSd),
  route("GET", "/metrics", "read", metrics),
];
