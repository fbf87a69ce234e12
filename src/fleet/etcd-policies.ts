// How the fleet's etcd client treats its members: which member a call goes to after one
// failed, and how soon a broken watch reconnects (etcd3's fault-handling hooks); and how
// long this node waits for any answer.
import { performance } from "node:perf_hooks";
import type { Etcd3 } from "etcd3";

type FaultHandling = NonNullable<ConstructorParameters<typeof Etcd3>[0]>["faultHandling"];
type HostPolicy = ReturnType<NonNullable<NonNullable<FaultHandling>["host"]>>;
type WatchBackoff = NonNullable<NonNullable<FaultHandling>["watchBackoff"]>;

/**
 * Per-member policies (etcd3 makes one per member, given its address, and calls nothing but
 * execute on it): a member whose call failed is skipped for `skipMs`, so the next call goes
 * to another member (etcd3 tries the next one when a policy refuses without calling through)
 * instead of hanging on a member that is cut off until its deadline. A member is never
 * skipped when every member failed within `skipMs` (etcd down, or coming back): then each
 * call goes through at once. What `fn` throws, even synchronously, is a rejection. `now`:
 * monotonic ms.
 */
export function skipFailedMembers(
  skipMs: number,
  now: () => number = () => performance.now(),
): (member: string) => HostPolicy {
  const failedAt = new Map<string, number>();
  return (member) => {
    failedAt.set(member, -Infinity);
    const policy = {
      execute: <T>(fn: (ctx: { signal: AbortSignal; attempt: number }) => T | Promise<T>): Promise<T> => {
        const at = now();
        const recent = (t: number): boolean => at - t < skipMs;
        if (recent(failedAt.get(member) ?? -Infinity) && ![...failedAt.values()].every(recent))
          return Promise.reject(new Error("this etcd member failed a moment ago; trying another"));
        return new Promise<T>((resolve) =>
          resolve(fn({ signal: new AbortController().signal, attempt: 0 })),
        ).then(
          (v) => {
            failedAt.set(member, -Infinity);
            return v;
          },
          (err: unknown) => {
            failedAt.set(member, now());
            throw err;
          },
        );
      },
    };
    return policy as unknown as HostPolicy;
  };
}

/** The watch's reconnect delay: always `ms`. */
export function constantBackoff(ms: number): WatchBackoff {
  const b = { duration: ms, next: () => b };
  return b as unknown as WatchBackoff;
}

/** `p`, or a rejection naming `what` when etcd has not answered within `ms`. */
export function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what}: no answer from etcd within ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}
