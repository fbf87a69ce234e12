// The error a Monitor operation throws when the state store refused to commit its
// transition: nothing of it happened (state, counters, journal, effects), the peer keeps
// the state last committed. Code WDM_STATE_STORE, like the store's own errors.
import { WatchdogError } from "../core/errors.js";

export class StoreCommitError extends WatchdogError {
  constructor(peer: string, cause: unknown) {
    super(
      "WDM_STATE_STORE",
      `the state store cannot commit, so nothing was done to peer "${peer}" (${cause instanceof Error ? cause.message : String(cause)}); free space or fix data_dir, then try again`,
      peer,
      { cause },
    );
    this.name = "StoreCommitError";
  }
}
