// Typed errors. Every error the product raises carries a stable `code`, and a message
// that says what was wrong, where (field, peer, config path) and what to do.

export type ErrorCode =
  | "WDM_INVALID_OPTION" // a Monitor / peer option is out of range or of the wrong type
  | "WDM_INVALID_DURATION" // a duration string cannot be parsed
  | "WDM_DUPLICATE_PEER" // registerPeer with a name already registered
  | "WDM_UNKNOWN_PEER" // an operation names a peer that is not registered
  | "WDM_INVALID_STATE" // an operation that the peer's state does not allow (e.g. release of a peer that is not isolated)
  | "WDM_CONFIG" // the config file has problems (see ConfigError.issues)
  | "WDM_STATE_STORE" // the data_dir / SQLite file cannot be used
  | "WDM_SQLITE_MISSING" // the state store's native module (better-sqlite3) is not installed or does not load
  | "WDM_LISTEN" // the API cannot listen on node.listen
  | "WDM_LEDGER"; // the step ledger's directory or file cannot be used

export class WatchdogError extends Error {
  readonly code: ErrorCode;
  /** The option / config path / peer the error is about, when there is one. */
  readonly field: string | undefined;

  constructor(code: ErrorCode, message: string, field?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "WatchdogError";
    this.code = code;
    this.field = field;
  }
}

/** An option outside its allowed range: names the field and the range. */
export class InvalidOptionError extends WatchdogError {
  constructor(field: string, message: string) {
    super("WDM_INVALID_OPTION", `${field}: ${message}`, field);
    this.name = "InvalidOptionError";
  }
}
