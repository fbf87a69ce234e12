// watchdog-mesh/ladder: the escalation ladder as a pure reducer, for tools and tests that
// replay a peer's ladder without a Monitor. A subpath, not the package root: the Monitor
// runs this reducer itself, and an embedding agent never needs it.
//   step(state, event, policy, ctx) → { state, effects }   (policy: compilePolicy of the root)
export {
  initialState,
  step,
  type Effect,
  type LadderEvent,
  type LadderState,
  type StepContext,
  type StepOutput,
} from "./core/ladder.js";
