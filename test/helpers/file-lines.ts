// The non-blank lines of a log file a test's commands append to; none while it does not exist.
import { existsSync, readFileSync } from "node:fs";

export function lines(file: string): string[] {
  return existsSync(file)
    ? readFileSync(file, "utf8")
        .split("\n")
        .filter((l) => l.trim() !== "")
    : [];
}
