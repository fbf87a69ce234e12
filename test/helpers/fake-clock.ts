// The fake clock of the tests is the one the package ships (watchdog-mesh/testing).
export { FakeClock, settle, turnsUntil } from "../../src/testing/fake-clock.js";
