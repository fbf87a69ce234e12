// POST /v1/reload: re-read the config file and apply it in place; an invalid file changes
// nothing and is answered 400 with every problem.
import { readBody } from "../body.js";
import { HttpError, sendJson } from "../../http/http-error.js";
import type { RouteContext } from "../router.js";

export async function reload({ req, res, api }: RouteContext): Promise<void> {
  await readBody(req, api.maxBodyBytes);
  if (!api.backend.reload)
    throw new HttpError(404, "WDM_NOT_FOUND", "this node cannot reload its configuration");
  const out = await api.backend.reload();
  sendJson(res, out.ok ? 200 : 400, out);
}
