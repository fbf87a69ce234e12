// The logging the alert workers need: pino-compatible (`logger.warn({ sink, seq }, "msg")`).
// Never pass header values, secrets or full sink URLs to it.
export interface AlertLogger {
  info(obj: Record<string, unknown>, msg?: string): void;
  warn(obj: Record<string, unknown>, msg?: string): void;
  error(obj: Record<string, unknown>, msg?: string): void;
}

export const silentLogger: AlertLogger = {
  info() {},
  warn() {},
  error() {},
};
