// One peer: its health and recent probes (read), and what an operator may do to it
// (control): release, restart, check now, silence for a while. Each control answers 202
// with the action or the peer's health; the journal names the caller as `api <address>`.
import { parseDuration } from "../../core/duration.js";
import { readBody, readJsonObject } from "../body.js";
import { HttpError, sendJson } from "../../http/http-error.js";
import { caller } from "../request.js";
import type { RouteContext } from "../router.js";

/** Longest silence accepted, ms (365 days). */
export const MAX_SILENCE_MS = 365 * 86_400_000;

function unknownPeer(name: string): HttpError {
  return new HttpError(
    404,
    "WDM_UNKNOWN_PEER",
    `no peer named ${JSON.stringify(name)}; GET /v1/mesh lists the peers`,
  );
}

export function peer({ res, params, api }: RouteContext): void {
  const name = params.name as string;
  const p = api.backend.peer(name);
  if (!p) throw unknownPeer(name);
  sendJson(res, 200, p);
}

export function history({ res, params, api }: RouteContext): void {
  const name = params.name as string;
  const probes = api.backend.history?.(name);
  if (!probes) throw unknownPeer(name);
  sendJson(res, 200, { peer: name, probes });
}

/** A control action on the peer: the body is ignored but bounded; 202 with what the backend answers. */
async function act(
  { req, res, params, api }: RouteContext,
  run: (name: string, by: string) => Promise<unknown>,
): Promise<void> {
  await readBody(req, api.maxBodyBytes);
  sendJson(res, 202, await run(params.name as string, caller(req)));
}

export const release = (ctx: RouteContext): Promise<void> =>
  act(ctx, (name, by) => ctx.api.backend.release(name, by));

export const restart = (ctx: RouteContext): Promise<void> =>
  act(ctx, (name, by) => ctx.api.backend.restart(name, by));

export const check = (ctx: RouteContext): Promise<void> => act(ctx, (name) => ctx.api.backend.check(name));

export async function silence({ req, res, params, api }: RouteContext): Promise<void> {
  const body = await readJsonObject(req, api.maxBodyBytes);
  const raw = body.for;
  if (typeof raw !== "string" && typeof raw !== "number") {
    throw new HttpError(
      400,
      "WDM_BAD_REQUEST",
      'body must be {"for": DURATION}, e.g. {"for":"1h"} ("0" ends a silence)',
    );
  }
  let ms: number;
  try {
    ms = parseDuration(raw, "for");
  } catch (e) {
    throw new HttpError(400, "WDM_BAD_REQUEST", (e as Error).message);
  }
  if (ms > MAX_SILENCE_MS) {
    throw new HttpError(
      400,
      "WDM_BAD_REQUEST",
      `for: ${JSON.stringify(raw)} is longer than the maximum of 365d`,
    );
  }
  sendJson(res, 202, api.backend.silence(params.name as string, ms, caller(req)));
}
