// The one bounded wait of the tests: poll a condition until it holds, fail after `ms`
// with what was awaited (and the last error the probe threw, when retrying errors).
// A test waits for an outcome, never for a fixed time; tests on a fake clock use
// turnsUntil() (fake-clock.ts), which never waits on the wall clock.

export interface WaitOptions {
  /** Poll period, ms. Default 50. */
  everyMs?: number;
  /** A probe that throws means "not yet" (e.g. a page element not there yet); default: the error fails the wait at once. */
  retryErrors?: boolean;
}

/** Resolves with the first truthy value of `probe` (undefined, null, false, 0 and "" mean "not yet"); throws after `ms`. */
export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | null | false | 0 | "" | Promise<T | undefined | null | false | 0 | "">,
  ms = 20_000,
  opts: WaitOptions = {},
): Promise<T> {
  const by = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v;
    } catch (e) {
      if (!opts.retryErrors) throw e;
      last = e;
    }
    if (Date.now() > by)
      throw new Error(
        `timed out after ${ms} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ""}`,
      );
    await new Promise((r) => setTimeout(r, opts.everyMs ?? 50));
  }
}

/** Resolves once `cond` holds; throws after `ms`. */
export async function until(
  what: string,
  cond: () => boolean | Promise<boolean>,
  ms = 20_000,
  opts: WaitOptions = {},
): Promise<void> {
  await waitFor(what, async () => (await cond()) || undefined, ms, opts);
}
