// The logger that redacts secrets: wraps any Logger (core/logger.ts) so that no secret
// the redactor knows reaches a log line.
import type { Logger } from "./logger.js";
import type { Redactor } from "./redact.js";

/** A logger that hides every secret of `redactor` in the fields and message of each line. */
export function redactingLogger(inner: Logger, redactor: Redactor): Logger {
  const wrap =
    (level: keyof Logger) =>
    (obj: object, msg?: string): void =>
      inner[level](redactor.value(obj), msg === undefined || redactor.empty ? msg : redactor.text(msg));
  return { debug: wrap("debug"), info: wrap("info"), warn: wrap("warn"), error: wrap("error") };
}
