// Where the Monitor, the mesh, the API and the daemon import the Logger from (it is
// defined once, in core/logger.ts), and the logger that redacts secrets.
import type { Logger } from "./core/logger.js";
import type { Redactor } from "./core/redact.js";

export { silentLogger, type Logger } from "./core/logger.js";

/** A logger that hides every secret of `redactor` in the fields and message of each line. */
export function redactingLogger(inner: Logger, redactor: Redactor): Logger {
  const wrap =
    (level: keyof Logger) =>
    (obj: object, msg?: string): void =>
      inner[level](redactor.value(obj), msg === undefined || redactor.empty ? msg : redactor.text(msg));
  return { debug: wrap("debug"), info: wrap("info"), warn: wrap("warn"), error: wrap("error") };
}
