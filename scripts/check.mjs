#!/usr/bin/env node
// npm run check: the static checks (typecheck, eslint, prettier) at once, each one's
// output printed whole when it ends, so the three do not interleave. Exits non-zero if
// any failed. `npm test` runs it after the build and before the tests.
import { spawn } from "node:child_process";

const CHECKS = ["typecheck", "lint", "format:check"];

const started = Date.now();
const results = await Promise.all(
  CHECKS.map(
    (name) =>
      new Promise((resolve) => {
        const child = spawn("npm", ["run", "-s", name], { stdio: ["ignore", "pipe", "pipe"] });
        let out = "";
        child.stdout.on("data", (d) => (out += d));
        child.stderr.on("data", (d) => (out += d));
        child.once("close", (code) => {
          const secs = ((Date.now() - started) / 1000).toFixed(1);
          process.stdout.write(out);
          console.log(`check: ${name} ${code === 0 ? "passed" : `failed (exit ${code})`} after ${secs} s`);
          resolve(code === 0);
        });
      }),
  ),
);
process.exit(results.every(Boolean) ? 0 : 1);
