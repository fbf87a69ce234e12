// Isolation records the tests share: what the systemd executor records for a network
// isolation of a unit that had no IP address rules of its own (IPAddressDeny=any added).
import type { IsolationRecord } from "../../src/core/isolation.js";

/** The record of `unit` cut off the network by the systemd executor (nothing masked, stopped or frozen). */
export function systemdNetworkRecord(unit: string): IsolationRecord {
  return {
    method: "systemd",
    unit,
    applied: ["IPAddressDeny=any"],
    systemd: {
      mode: "network",
      network: { previousDeny: "", previousAllow: "" },
      masked: false,
      stopped: false,
      frozen: false,
    },
  };
}
