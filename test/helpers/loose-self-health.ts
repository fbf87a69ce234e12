// Self-health limits for integration tests whose subject is not the node's own load.
// On a busy machine (the suite beside busy-loop processes) the default limits (event
// loop delay p99 200 ms, timer lateness p99 250 ms) make a node rightly judge itself
// overloaded and hold every remediation; the self-health tests check exactly that. Tests
// of partitions, quorum, takeover or the dashboard set these limits instead: still low
// enough that a node frozen for several seconds (SIGSTOP) sees its own stall, with a
// short window so that it is well again soon after.

/** For the library (Monitor's `selfHealth` option). */
export const LOOSE_SELF_HEALTH = { loopDelayP99Ms: 2_000, latenessP99Ms: 2_000, windowMs: 3_000 } as const;

/** The same limits as a top-level line of a wdmesh config file. */
export const LOOSE_SELF_HEALTH_YAML =
  `self_health: { loop_delay_p99: ${LOOSE_SELF_HEALTH.loopDelayP99Ms}ms, ` +
  `lateness_p99: ${LOOSE_SELF_HEALTH.latenessP99Ms}ms, window: ${LOOSE_SELF_HEALTH.windowMs}ms }`;
