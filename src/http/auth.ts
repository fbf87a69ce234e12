// Bearer token checks. Tokens are compared in constant time over their SHA-256 digests,
// so neither the content nor the length of a configured token leaks through timing.
import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { HttpError } from "./http-error.js";

const digest = (s: string): Buffer => createHash("sha256").update(s, "utf8").digest();

/** A set of accepted tokens, kept only as digests. */
export class TokenSet {
  private readonly digests: Buffer[];
  constructor(tokens: Array<string | undefined>) {
    this.digests = tokens.filter((t): t is string => typeof t === "string" && t.length > 0).map(digest);
  }
  get empty(): boolean {
    return this.digests.length === 0;
  }
  /** Constant time per configured token; checks every token (no early exit). */
  accepts(token: string): boolean {
    const d = digest(token);
    let ok = false;
    for (const want of this.digests) ok = timingSafeEqual(d, want) || ok;
    return ok;
  }
}

/** The token of an `Authorization: Bearer <token>` header, or undefined when absent or of another scheme. */
export function bearerToken(req: IncomingMessage): string | undefined {
  const h = req.headers.authorization;
  if (typeof h !== "string") return undefined;
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(h);
  return m ? m[1] : undefined;
}

/** True when the request carries a token of `accepted` (never when `accepted` is empty). */
export function carriesToken(req: IncomingMessage, accepted: TokenSet): boolean {
  const token = bearerToken(req);
  return token !== undefined && !accepted.empty && accepted.accepts(token);
}

/** Throws 401 unless the request carries a token of `accepted`. */
export function requireToken(req: IncomingMessage, accepted: TokenSet): void {
  const token = bearerToken(req);
  if (token === undefined) {
    throw new HttpError(
      401,
      "WDM_UNAUTHORIZED",
      "missing bearer token: send the header 'Authorization: Bearer <token>'",
      {
        "WWW-Authenticate": 'Bearer realm="wdmesh"',
      },
    );
  }
  if (!accepted.accepts(token)) {
    throw new HttpError(401, "WDM_UNAUTHORIZED", "token rejected: check the token configured on the node", {
      "WWW-Authenticate": 'Bearer realm="wdmesh", error="invalid_token"',
    });
  }
}
