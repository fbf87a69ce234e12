// Loading the config file: YAML → ${…} interpolation → schema → cross-field rules →
// resolved options. Every problem is collected and thrown at once as a ConfigError;
// no secret value ever appears in it.
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from "yaml";
import { ConfigError, type ConfigIssue } from "./config-error.js";
import { checkConfig, formatSegs, type PathSeg, type RawIssue } from "./cross-checks.js";
import { interpolate } from "./interpolate.js";
import { resolveConfig, type ResolvedConfig } from "./resolve.js";
import { configShape } from "./schema.js";
import { redact, secretValuesIn } from "./secrets.js";
import { convertZodIssue } from "./zod-issues.js";

export { ConfigError, type ConfigIssue } from "./config-error.js";
export type { ResolvedConfig } from "./resolve.js";

export interface ParseOptions {
  /** Directory that anchors a relative data_dir and relative ${file:} paths. Default: the current directory. */
  baseDir?: string;
}

/** The YAML node at `path` (the key node for `key`), or the nearest existing ancestor. */
function locate(doc: Document, path: readonly PathSeg[], key: boolean): Node | undefined {
  let node: unknown = doc.contents;
  let last: Node | undefined = (doc.contents as Node | null) ?? undefined;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i];
    if (isMap(node)) {
      const pair = node.items.find(
        (p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(seg),
      );
      if (!pair) return last;
      const isLast = i === path.length - 1;
      if (isLast && (key || pair.value === null)) return (pair.key as Node) ?? last;
      node = pair.value;
    } else if (isSeq(node) && typeof seg === "number") {
      node = node.items[seg];
    } else {
      return last;
    }
    if (node && typeof node === "object" && "range" in node) last = node as Node;
    else return last;
  }
  return last;
}

function fail(source: string, issues: ConfigIssue[]): never {
  throw new ConfigError(source, issues);
}

/**
 * Parses and validates config text. `sourceName` names it in messages (the file path).
 * Throws ConfigError (code WDM_CONFIG) listing every problem.
 */
export function parseConfig(
  text: string,
  env: NodeJS.ProcessEnv = process.env,
  sourceName = "config",
  opts: ParseOptions = {},
): ResolvedConfig {
  const baseDir = resolve(opts.baseDir ?? ".");
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    // The YAML library's message carries no source excerpt with prettyErrors off, so no secret leaks here.
    fail(
      sourceName,
      doc.errors.map((e) => {
        const pos = lines.linePos(e.pos[0]);
        return { path: "", message: `YAML syntax error: ${e.message}`, line: pos.line, column: pos.col };
      }),
    );
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    fail(sourceName, [{ path: "", message: `YAML cannot be read: ${(e as Error).message}` }]);
  }
  return resolveDocument(raw, env, sourceName, baseDir, (path, key) => {
    const node = locate(doc, path, key);
    return node?.range ? lines.linePos(node.range[0]) : undefined;
  });
}

/**
 * Validates a config document already read (the YAML's value, or an object an embedding
 * agent built) and resolves it. `position` finds the line and column of a path in the
 * source text, when there is one. Throws ConfigError (WDM_CONFIG) listing every problem.
 */
export function resolveDocument(
  raw: unknown,
  env: NodeJS.ProcessEnv,
  sourceName: string,
  baseDir: string,
  position: (path: readonly PathSeg[], key: boolean) => { line: number; col: number } | undefined = () =>
    undefined,
): ResolvedConfig {
  if (raw === null || raw === undefined) {
    fail(sourceName, [
      {
        path: "",
        message: "the config file is empty",
        hint: "it needs at least `node: { name: <this node's name> }`",
      },
    ]);
  }
  if (typeof raw !== "object" || Array.isArray(raw)) {
    fail(sourceName, [
      {
        path: "",
        message: `the config file must be a mapping (node:, defaults:, peers:, mesh:, alerts:), not ${Array.isArray(raw) ? "a list" : `a ${typeof raw}`}`,
        line: 1,
        column: 1,
      },
    ]);
  }

  const interp = interpolate(raw, env, baseDir);
  const value = interp.value;
  const secrets = new Set<string>([...interp.resolved.values(), ...secretValuesIn(value)]);

  const found: RawIssue[] = [...interp.issues];
  const parsed = configShape.safeParse(value);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) found.push(...convertZodIssue(issue, value, configShape));
  }
  // A cross-field rule repeating what the schema already said about the same field adds nothing.
  const schemaPaths = new Set(found.map((r) => formatSegs(r.path)));
  const checked = checkConfig(value);
  found.push(...checked.issues.filter((r) => !schemaPaths.has(formatSegs(r.path))));

  // Drop problems that only repeat a failed interpolation, and exact duplicates.
  const failed = [...interp.failedPaths];
  const seen = new Set<string>();
  const issues: ConfigIssue[] = [];
  for (const [n, r] of found.entries()) {
    const path = formatSegs(r.path);
    const isInterp = n < interp.issues.length;
    if (!isInterp && failed.some((f) => path === f || path.startsWith(`${f}.`) || path.startsWith(`${f}[`)))
      continue;
    const message = redact(r.message, secrets);
    const dedupe = `${path}\u0000${message}`;
    if (seen.has(dedupe)) continue;
    seen.add(dedupe);
    const issue: ConfigIssue = { path, message };
    if (r.hint !== undefined) issue.hint = redact(r.hint, secrets);
    const pos = position(r.path, message.startsWith("unknown key"));
    if (pos) {
      issue.line = pos.line;
      issue.column = pos.col;
    }
    issues.push(issue);
  }
  if (issues.length > 0 || !parsed.success) {
    issues.sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity) || (a.column ?? 0) - (b.column ?? 0));
    fail(sourceName, issues);
  }

  return resolveConfig(parsed.data, checked.policies, baseDir, secrets);
}

/**
 * Reads, interpolates (`${ENV}`, `${file:/path}`, `$${` for a literal) and validates
 * a config file. Throws ConfigError (WDM_CONFIG) with every problem at once.
 */
export async function loadConfig(
  path: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ResolvedConfig> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    const code = (e as { code?: string }).code;
    const why =
      code === "ENOENT"
        ? "does not exist"
        : code === "EACCES"
          ? "is not readable"
          : `cannot be read (${code ?? String(e)})`;
    throw new ConfigError(path, [
      { path: "", message: `the config file ${why}`, hint: "pass --config with the right path" },
    ]);
  }
  return parseConfig(text, env, path, { baseDir: dirname(resolve(path)) });
}
