// The logging interface: pino-compatible (`logger.warn({ peer }, "msg")`). The library
// logs nothing unless given a logger; the daemon passes a pino instance.
import type { Redactor } from "./core/redact.js";

export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export const silentLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
};

/** A logger that hides every secret of `redactor` in the fields and message of each line. */
export function redactingLogger(inner: Logger, redactor: Redactor): Logger {
  const wrap =
    (level: keyof Logger) =>
    (obj: object, msg?: string): void =>
      inner[level](redactor.value(obj), msg === undefined || redactor.empty ? msg : redactor.text(msg));
  return { debug: wrap("debug"), info: wrap("info"), warn: wrap("warn"), error: wrap("error") };
}
