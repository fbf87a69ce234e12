// ${ENV} and ${file:/path} interpolation in the string values of the config
// document, before validation. `$${` is a literal `${`. Mapping keys are never
// interpolated. A file's trailing newlines are dropped (keys are usually written
// with `echo`). Every interpolated value is treated as a secret from here on:
// load.ts redacts it from errors and mask.ts hides it in `wdmesh validate`.
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { formatSegs, type PathSeg, type RawIssue } from "./cross-checks.js";

export interface Interpolated {
  /** The document with every reference replaced. */
  value: unknown;
  /** Missing variables, unreadable files, malformed references. */
  issues: RawIssue[];
  /** Formatted paths whose interpolation failed (schema errors there would only repeat the problem). */
  failedPaths: Set<string>;
  /** Formatted path → resolved value, for every string that contained a reference. */
  resolved: Map<string, string>;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MAX_FILE_BYTES = 1 << 20;

function fileProblem(e: unknown): string {
  const code = (e as { code?: string }).code;
  switch (code) {
    case "ENOENT":
      return "does not exist";
    case "EACCES":
    case "EPERM":
      return "is not readable (permission denied)";
    case "EISDIR":
      return "is a directory, not a regular file";
    case "EFBIG":
    case "WDM_NOT_REGULAR":
    case "WDM_KEY_PERMISSIONS":
      return (e as Error).message;
    default:
      return `cannot be read (${code ?? String(e)})`;
  }
}

function kindOf(st: Stats): string {
  if (st.isDirectory()) return "a directory";
  if (st.isFIFO()) return "a FIFO (named pipe)";
  if (st.isCharacterDevice()) return "a character device";
  if (st.isBlockDevice()) return "a block device";
  if (st.isSocket()) return "a socket";
  return "not a regular file";
}

/**
 * Reads a secret file: regular files only, opened non-blocking (a FIFO or a device never
 * blocks startup), at most MAX_FILE_BYTES + 1 bytes read (so /dev/zero or a huge file
 * costs one bounded read).
 */
function readSecretFile(path: string): string {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) {
      throw Object.assign(new Error(`is ${kindOf(st)}; \${file:} reads regular files only`), {
        code: "WDM_NOT_REGULAR",
      });
    }
    const buf = Buffer.alloc(MAX_FILE_BYTES + 1);
    let n = 0;
    while (n < buf.length) {
      const got = readSync(fd, buf, n, buf.length - n, null);
      if (got === 0) break;
      n += got;
    }
    if (n > MAX_FILE_BYTES) {
      throw Object.assign(new Error("is larger than 1 MiB (a secret file holds one key or token)"), {
        code: "EFBIG",
      });
    }
    const text = buf
      .subarray(0, n)
      .toString("utf8")
      .replace(/(?:\r?\n)+$/, "");
    // A private key others on the host can read is refused, as ssh refuses one.
    if ((st.mode & 0o077) !== 0 && /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) {
      const mode = (st.mode & 0o777).toString(8).padStart(4, "0");
      throw Object.assign(
        new Error(
          `holds a private key and is accessible by group or others (mode ${mode}); run chmod 600 on it`,
        ),
        { code: "WDM_KEY_PERMISSIONS" },
      );
    }
    return text;
  } finally {
    closeSync(fd);
  }
}

type Ref = { ok: true; text: string } | { ok: false; message: string; hint?: string };

function resolveRef(ref: string, env: NodeJS.ProcessEnv, baseDir: string): Ref {
  if (ref.startsWith("file:")) {
    const given = ref.slice("file:".length).trim();
    if (given === "")
      return { ok: false, message: "${file:} needs a path, e.g. ${file:/etc/wdmesh/mesh.key}" };
    const path = isAbsolute(given) ? given : resolve(baseDir, given);
    try {
      return { ok: true, text: readSecretFile(path) };
    } catch (e) {
      return {
        ok: false,
        message: `secret file ${path} ${fileProblem(e)}`,
        hint: "create it, fix its permissions for the user running wdmesh, or correct the path",
      };
    }
  }
  if (!ENV_NAME.test(ref)) {
    return {
      ok: false,
      message: `"\${${ref}}" is not a valid reference; use \${NAME} for an environment variable or \${file:/path} for a file`,
      hint: 'write "$${" for a literal "${"',
    };
  }
  const v = env[ref];
  if (v === undefined) {
    return {
      ok: false,
      message: `environment variable ${ref} is not set`,
      hint: `set ${ref} in the environment of wdmesh, e.g. with Environment= or EnvironmentFile= in its systemd unit`,
    };
  }
  return { ok: true, text: v };
}

/** Replaces the references of one string; `hadRef` tells whether it contained any. */
export function interpolateString(
  s: string,
  env: NodeJS.ProcessEnv,
  baseDir: string,
): { text: string; hadRef: boolean } | { error: { message: string; hint?: string } } {
  let out = "";
  let hadRef = false;
  let i = 0;
  while (i < s.length) {
    if (s.startsWith("$${", i)) {
      out += "${";
      i += 3;
      continue;
    }
    if (s.startsWith("${", i)) {
      const end = s.indexOf("}", i + 2);
      if (end < 0) {
        return {
          error: { message: 'unterminated "${"; close it with "}"', hint: 'write "$${" for a literal "${"' },
        };
      }
      const r = resolveRef(s.slice(i + 2, end), env, baseDir);
      if (!r.ok)
        return {
          error: r.hint === undefined ? { message: r.message } : { message: r.message, hint: r.hint },
        };
      out += r.text;
      hadRef = true;
      i = end + 1;
      continue;
    }
    out += s[i];
    i += 1;
  }
  return { text: out, hadRef };
}

/** Interpolates every string value of `doc`. `baseDir` anchors relative ${file:} paths. */
export function interpolate(doc: unknown, env: NodeJS.ProcessEnv, baseDir: string): Interpolated {
  const result: Interpolated = { value: undefined, issues: [], failedPaths: new Set(), resolved: new Map() };
  const walk = (v: unknown, path: PathSeg[]): unknown => {
    if (typeof v === "string") {
      if (!v.includes("$")) return v;
      const r = interpolateString(v, env, baseDir);
      const key = formatSegs(path);
      if ("error" in r) {
        result.issues.push({ path, ...r.error });
        result.failedPaths.add(key);
        return v;
      }
      if (r.hadRef) result.resolved.set(key, r.text);
      return r.text;
    }
    if (Array.isArray(v)) return v.map((x, i) => walk(x, [...path, i]));
    if (typeof v === "object" && v !== null) {
      const o: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) {
        // defineProperty: a "__proto__" key stays an ordinary (and then rejected) key.
        Object.defineProperty(o, k, {
          value: walk(x, [...path, k]),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return o;
    }
    return v;
  };
  result.value = walk(doc, []);
  return result;
}
