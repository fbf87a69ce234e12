// What each isolation mode of the systemd executor gets: systemctl, the unit, the
// deadline of each call and the abort signal. One value, so the mode files stay small.
import type { Systemctl } from "./systemctl.js";

export interface UnitCall {
  systemctl: Systemctl;
  unit: string;
  /** Deadline of each systemctl call, ms. */
  t: number;
  signal: AbortSignal;
}
