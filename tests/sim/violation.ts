/** The one error the simulator raises when a run breaks a rule. */

/** Which rule a run broke; `core-invariant` is the core's own RaftInvariantError. */
export type ViolationKind =
  | "election-safety"
  | "log-matching"
  | "leader-completeness"
  | "state-machine-safety"
  | "acknowledged-lost"
  | "commit-not-durable"
  | "commit-regressed"
  | "state-machine-regressed"
  | "term-regressed"
  | "applied-beyond-commit"
  | "ready-contract"
  | "persist-before-send"
  | "rpc-contract"
  | "disk"
  | "membership"
  | "liveness"
  | "core-invariant"
  | "core-crash";

/** A broken rule, with enough words to start debugging from the trace. */
export class SimViolation extends Error {
  constructor(readonly kind: ViolationKind, message: string) {
    super(`${kind}: ${message}`);
    this.name = "SimViolation";
  }
}
