// The real Chromium of the dashboard tests: the Debian package's binary driven by
// playwright-core (a browser is never downloaded). In CI it is a prerequisite: a test that
// needs it fails with the reason; elsewhere it skips.
import { existsSync } from "node:fs";
import { chromium, type Browser } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";

/** Why Chromium cannot run here, or undefined. */
export const chromiumMissing: string | undefined = existsSync(CHROMIUM)
  ? undefined
  : `${CHROMIUM} is not installed (apt-get install chromium)`;

/** node:test's skip option: skipped outside CI when Chromium is missing, else false. */
export const skipWithoutChromium: string | false =
  chromiumMissing !== undefined && !process.env.CI ? `skipped: ${chromiumMissing}` : false;

/** Launches the headless browser (no sandbox: the tests run as root). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--no-sandbox",
      "--headless",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    timeout: 30_000,
  });
}
