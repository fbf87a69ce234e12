// The one place that decides how a secret is hidden. `wdmesh validate`, the API, the
// logs, the journal and the outbox all go through these functions, so what one of
// them masks, the others mask too. Pure: no I/O.

/** What a hidden value is shown as. */
export const MASK = "***";

/** Shortest value hidden by value: 1-2 characters cannot be hidden meaningfully. */
export const MIN_SECRET_LENGTH = 3;

const SECRET_PARAM = /token|key|secret|pass|auth|sig|credential/i;

/** "scheme://host:port" of a URL, nothing more: safe to log and to show. */
export function safeOrigin(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return "(invalid URL)";
  }
}

/**
 * A URL as it may be shown (validate, status, API, logs): the userinfo password and the
 * values of secret-looking query parameters (token, key, secret, password, auth, sig)
 * become "***". Anything that is not an absolute URL is returned unchanged.
 */
export function redactUrl(raw: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(raw)) return raw;
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return raw;
  }
  let changed = false;
  if (u.password) {
    u.password = MASK;
    changed = true;
  }
  for (const k of [...u.searchParams.keys()]) {
    if (SECRET_PARAM.test(k)) {
      u.searchParams.set(k, MASK);
      changed = true;
    }
  }
  if (!changed) return raw;
  let out = u.toString().replace(/%2A%2A%2A/g, MASK);
  // Keep the form as written: no "/" added after an authority that had no path.
  if (/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*(?:[?#]|$)/i.test(raw))
    out = out.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/?#]*)\//i, "$1");
  return out;
}

/** Replaces every occurrence of every secret in `text` by "***". */
export function redact(text: string, secrets: Iterable<string>): string {
  return new Redactor(secrets).text(text);
}

/** True when `text` contains any secret. */
export function containsSecret(text: string, secrets: Iterable<string>): boolean {
  for (const s of secrets) if (s.length >= MIN_SECRET_LENGTH && text.includes(s)) return true;
  return false;
}

/**
 * Hides a fixed set of secret values wherever they appear: in plain text, in JSON text
 * (where a value may appear escaped) and in every string of a value.
 */
export class Redactor {
  /** Longest first, so a secret containing another is hidden whole. */
  private needles: string[] = [];

  constructor(secrets: Iterable<string>) {
    this.add(secrets);
  }

  /** Hides these secrets too from now on (a reloaded config's new values). */
  add(secrets: Iterable<string>): void {
    const set = new Set<string>(this.needles);
    for (const s of secrets) {
      if (s.length < MIN_SECRET_LENGTH) continue;
      set.add(s);
      // The form the value takes inside a JSON string (quotes, backslashes, controls escaped).
      const escaped = JSON.stringify(s).slice(1, -1);
      if (escaped !== s) set.add(escaped);
    }
    this.needles = [...set].sort((a, b) => b.length - a.length);
  }

  /** True when there is nothing to hide. */
  get empty(): boolean {
    return this.needles.length === 0;
  }

  /** `s` with every secret replaced by "***". */
  text(s: string): string {
    let out = s;
    for (const n of this.needles) if (out.includes(n)) out = out.split(n).join(MASK);
    return out;
  }

  /** A copy of `v` (JSON-like) with every string redacted; `v` itself when nothing had to change. */
  value<T>(v: T): T {
    if (this.empty) return v;
    return this.walk(v) as T;
  }

  private walk(v: unknown): unknown {
    if (typeof v === "string") return this.text(v);
    if (v instanceof Error) {
      // Errors (logged as err: e) become plain data so their texts can be redacted.
      const out: Record<string, unknown> = { type: v.name, message: this.text(v.message) };
      if (v.stack !== undefined) out.stack = this.text(v.stack);
      const code = (v as { code?: unknown }).code;
      if (code !== undefined) out.code = code;
      return out;
    }
    if (Array.isArray(v)) {
      let changed = false;
      const out = v.map((x) => {
        const y = this.walk(x);
        if (y !== x) changed = true;
        return y;
      });
      return changed ? out : v;
    }
    if (typeof v === "object" && v !== null && Object.getPrototypeOf(v) === Object.prototype) {
      let changed = false;
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) {
        const y = this.walk(x);
        if (y !== x) changed = true;
        out[k] = y;
      }
      return changed ? out : v;
    }
    return v;
  }
}

/** A redactor that hides nothing. */
export const NO_SECRETS = new Redactor([]);
