// The one logging interface of the library: pino-compatible (`logger.warn({ peer }, "msg")`).
// The library logs nothing unless given a logger; the daemon passes a pino instance.
// Never pass header values, secrets or full sink URLs to it.

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
