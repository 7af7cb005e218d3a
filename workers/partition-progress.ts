/**
 * Which offsets of each partition may be committed while several messages are worked on at once.
 * Kafka commits a position ("everything before N is done"), and messages finish out of order, so a
 * partition's commit advances only to the highest offset below which nothing is still in flight:
 * a crash then redelivers every unfinished message (and, harmlessly, some finished ones), never skips one.
 */
export class PartitionProgress<T> {
  /** Per partition: offsets received and not yet finished. */
  private readonly pending = new Map<string, Set<bigint>>();
  /** Per partition: finished offsets not yet covered by a commit, with what commits them. */
  private readonly finished = new Map<string, Map<bigint, T>>();

  /** A message was handed out for work. */
  received(partition: string, offset: bigint): void {
    let set = this.pending.get(partition);
    if (!set) this.pending.set(partition, (set = new Set()));
    set.add(offset);
  }

  /**
   * A message is done (accepted or dead-lettered). Returns what to commit now, the handle of the
   * highest finished offset with nothing unfinished below it, or undefined when nothing advances.
   */
  finish(partition: string, offset: bigint, handle: T): T | undefined {
    this.pending.get(partition)?.delete(offset);
    let done = this.finished.get(partition);
    if (!done) this.finished.set(partition, (done = new Map()));
    done.set(offset, handle);
    const pending = this.pending.get(partition) ?? new Set<bigint>();
    let lowestPending: bigint | undefined;
    for (const o of pending) if (lowestPending === undefined || o < lowestPending) lowestPending = o;
    let best: bigint | undefined;
    for (const o of done.keys()) {
      if ((lowestPending === undefined || o < lowestPending) && (best === undefined || o > best)) best = o;
    }
    if (best === undefined) return undefined;
    const result = done.get(best);
    for (const o of [...done.keys()]) if (o <= best) done.delete(o);
    return result;
  }

  /** Messages still being worked on, over all partitions. */
  get inFlight(): number {
    let count = 0;
    for (const set of this.pending.values()) count += set.size;
    return count;
  }
}
