// The subpath `watchdog-mesh/testing`: what a unit test of code that embeds Monitor needs
// to run without real time, real targets or real systemd. Its Monitor is the package root's
// (imported from it, never a copy), so its instances and errors are the root's classes.
export { FakeClock, settle, turnsUntil } from "./fake-clock.js";
export {
  FakeProber,
  MISS,
  OK,
  probeKey,
  type Behaviour,
  type FakeProberOptions,
  type Script,
} from "./fake-prober.js";
export {
  RecordingExecutor,
  type ExecutorAction,
  type ExecutorCall,
  type ScriptedResult,
} from "./recording-executor.js";
export {
  createTestMesh,
  TestMesh,
  type MeshCall,
  type TestMeshNode,
  type TestMeshOptions,
} from "./test-mesh.js";
