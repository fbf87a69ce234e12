// A member's URL is the base its routes hang off (the node appends /health and
// /v1/mesh/view itself). A URL that already names one of those routes (a copy of a probe URL,
// the commonest slip) would make every request miss: the member stays OFFLINE ("status 404")
// and its vote is lost. Refused with the base URL to use instead.
import { withoutTrailingSlash } from "../core/base-url.js";

/** The routes a mesh node serves (routes.ts), which a base URL must not already end with. */
export const MEMBER_ROUTES: readonly string[] = ["/health", "/v1/mesh/view", "/v1/mesh"];

/** Why `url` is not a usable member base URL, with the fix; undefined when it is. */
export function memberUrlProblem(url: unknown): string | undefined {
  const example = "e.g. http://10.0.0.2:9760";
  let u: URL;
  try {
    u = new URL(String(url));
  } catch {
    return `${JSON.stringify(url)} must be the member's base http(s) URL, ${example}`;
  }
  if ((u.protocol !== "http:" && u.protocol !== "https:") || u.search !== "" || u.hash !== "") {
    return `${JSON.stringify(url)} must be the member's base http(s) URL without a query, ${example}`;
  }
  const path = withoutTrailingSlash(u.pathname);
  const route = MEMBER_ROUTES.find((r) => path.endsWith(r));
  if (route !== undefined) {
    const base = `${u.origin}${path.slice(0, path.length - route.length)}`;
    return (
      `${JSON.stringify(url)} names the member's ${route} route, not its base URL: ` +
      `use "${base}" (the node adds /health and /v1/mesh/view itself)`
    );
  }
  return undefined;
}
