// The scripted prober of the tests is the one the package ships (watchdog-mesh/testing).
export { FakeProber, MISS, OK, type Script } from "../../src/testing/fake-prober.js";
