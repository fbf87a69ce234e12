// better-sqlite3, loaded on first use. It is a native module needed only by the daemon's
// state store (and the offline journal reader): a library user who never opens a store
// never loads it, and the package declares it an optional peer, so `npm install
// watchdog-mesh` in an agent compiles nothing. When it is missing, opening a store throws
// WDM_SQLITE_MISSING naming the install command, instead of a bare module-not-found.
import { createRequire } from "node:module";
import type BetterSqlite3 from "better-sqlite3";
import { WatchdogError } from "../core/errors.js";

/** The install line printed when the driver is missing (README "Install" says the same). */
export const SQLITE_INSTALL_HINT =
  "install it beside watchdog-mesh: `npm install better-sqlite3` in the project, or `npm install -g watchdog-mesh better-sqlite3` for the wdmesh command";

let driver: typeof BetterSqlite3 | undefined;

/**
 * Node's require: one made from this file's URL in ES modules; in the CommonJS build, where
 * import.meta is empty, the module's own.
 */
function nodeRequire(): NodeJS.Require {
  const url = (import.meta as { url?: string }).url;
  return url ? createRequire(url) : require;
}

/** The better-sqlite3 constructor. Throws WDM_SQLITE_MISSING when it cannot be loaded. */
export function sqliteDriver(file: string): typeof BetterSqlite3 {
  if (driver !== undefined) return driver;
  try {
    driver = nodeRequire()("better-sqlite3") as typeof BetterSqlite3;
  } catch (e) {
    const code = typeof e === "object" && e !== null && "code" in e ? String(e.code) : "";
    const why =
      code === "MODULE_NOT_FOUND"
        ? "better-sqlite3 is not installed"
        : `better-sqlite3 cannot be loaded (${e instanceof Error ? e.message.split("\n")[0] : String(e)}; rebuild it for this Node with \`npm rebuild better-sqlite3\`)`;
    throw new WatchdogError(
      "WDM_SQLITE_MISSING",
      `${file.endsWith("steps.db") ? "the step ledger" : "the state store"} needs the native module better-sqlite3 and ${why}: ${SQLITE_INSTALL_HINT}. The library without a store and without the step ledger (option ledger: false) does not need it.`,
      file,
      { cause: e },
    );
  }
  return driver;
}
