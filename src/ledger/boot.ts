// This boot of the host: the kernel's boot id, which every process of the host reads the
// same until the machine restarts. The ledger keeps it with each step (a deadline on the
// monotonic clock means nothing on another boot) and in the holder's name.
import { readFileSync } from "node:fs";

let cached: string | undefined;

/** The first 8 characters of /proc/sys/kernel/random/boot_id ("?" where it cannot be read). */
export function bootId(): string {
  if (cached !== undefined) return cached;
  try {
    cached = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim().slice(0, 8);
  } catch {
    cached = "?";
  }
  return cached;
}
