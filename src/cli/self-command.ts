// How a user types this very program in a shell: "wdmesh" when the `wdmesh` found on
// PATH is this program (a global install), otherwise its full path (a checkout, where
// `wdmesh` is not on PATH). Used in commands the CLI prints for the user to run.
import { existsSync, realpathSync } from "node:fs";
import { delimiter, join } from "node:path";

function real(path: string): string | null {
  try {
    return realpathSync(path);
  } catch {
    return null;
  }
}

/** `script`: the running CLI's entry file (process.argv[1]); `path`: the PATH variable. */
export function selfCommand(script: string | undefined, path: string | undefined): string {
  const self = script ? real(script) : null;
  if (self === null) return "wdmesh";
  for (const dir of (path ?? "").split(delimiter)) {
    if (dir === "") continue;
    const candidate = join(dir, "wdmesh");
    if (existsSync(candidate) && real(candidate) === self) return "wdmesh";
  }
  return /^[\w@%+=:,./-]+$/.test(self) ? self : `'${self.replace(/'/g, `'\\''`)}'`;
}
