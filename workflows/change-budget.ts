/**
 * A sliding-window budget for the changes a workflow accepts from outside (retention updates). Every
 * accepted change is history (accepted + completed events, a record, a search-attribute upsert), and
 * a workflow's history has a hard limit past which Temporal terminates it; a budget per window keeps
 * a client that loops on PATCH from growing it faster than continue-as-new can trim it. Pure and
 * deterministic: callers pass workflow time.
 */
export class ChangeBudget {
  private readonly accepted: number[];

  /** `accepted`: the times of changes a previous run accepted (see `recent`), so its budget carries over. */
  constructor(
    readonly limit: number,
    readonly windowMs: number,
    accepted: readonly number[] = [],
  ) {
    this.accepted = [...accepted];
  }

  /** null when a change may be accepted at `now`; otherwise how many ms until one may. */
  waitBefore(now: number): number | null {
    this.forgetBefore(now - this.windowMs);
    if (this.accepted.length < this.limit) return null;
    return this.accepted[0]! + this.windowMs - now;
  }

  /** Counts an accepted change. */
  spend(now: number): void {
    this.accepted.push(now);
  }

  /** The times of the changes still inside the window at `now`, to hand to the next run. */
  recent(now: number): number[] {
    this.forgetBefore(now - this.windowMs);
    return [...this.accepted];
  }

  private forgetBefore(cutoff: number) {
    while (this.accepted.length > 0 && this.accepted[0]! <= cutoff) this.accepted.shift();
  }
}
