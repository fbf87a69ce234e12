// The recording executor of the tests is the one the package ships (watchdog-mesh/testing).
export { RecordingExecutor } from "../../src/testing/recording-executor.js";
