// The one error loading a config file raises: every problem at once, each with its
// path in the file (`peers[1].probe.http.url`), and its line:column when known.
import { WatchdogError } from "../core/errors.js";

export interface ConfigIssue {
  /** Where in the file, e.g. `peers[1].probe.http.url`; "" for the file as a whole. */
  path: string;
  /** What is wrong, never containing a secret value. */
  message: string;
  /** What to do, e.g. `did you mean "retry_interval"?`. */
  hint?: string;
  /** 1-based line of the offending key or value, when known. */
  line?: number;
  /** 1-based column, when known. */
  column?: number;
}

export function formatIssue(issue: ConfigIssue, source?: string): string {
  const where = issue.path === "" ? "(file)" : issue.path;
  const hint = issue.hint === undefined ? "" : ` (${issue.hint})`;
  const loc = issue.line === undefined ? "" : ` [${source ?? "line"}:${issue.line}:${issue.column ?? 1}]`;
  return `${where}: ${issue.message}${hint}${loc}`;
}

/** The config file has problems: code WDM_CONFIG, `issues` lists all of them. */
export class ConfigError extends WatchdogError {
  readonly issues: ConfigIssue[];
  /** The file (or source name) the issues are about. */
  readonly source: string;

  constructor(source: string, issues: ConfigIssue[]) {
    const n = issues.length;
    const lines = issues.map((i) => `  ${formatIssue(i, source)}`);
    super(
      "WDM_CONFIG",
      `${source}: ${n} config problem${n === 1 ? "" : "s"}:\n${lines.join("\n")}`,
      issues[0]?.path,
    );
    this.name = "ConfigError";
    this.issues = issues;
    this.source = source;
  }
}
