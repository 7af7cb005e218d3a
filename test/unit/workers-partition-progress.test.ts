import { describe, expect, it } from 'vitest';
import { PartitionProgress } from '../../workers/partition-progress';

describe('committing offsets of messages that finish out of order', () => {
  it('commits a finished message only once every earlier one of its partition has finished', () => {
    const progress = new PartitionProgress<string>();
    for (const offset of [10n, 11n, 12n]) progress.received('p0', offset);
    expect(progress.finish('p0', 11n, 'm11')).toBeUndefined();
    expect(progress.finish('p0', 12n, 'm12')).toBeUndefined();
    expect(progress.inFlight).toBe(1);
    // 10 was the one holding the others back: the commit jumps to the highest finished offset.
    expect(progress.finish('p0', 10n, 'm10')).toBe('m12');
    expect(progress.inFlight).toBe(0);
  });

  it('commits in order as messages finish in order, and keeps partitions apart', () => {
    const progress = new PartitionProgress<string>();
    progress.received('p0', 0n);
    progress.received('p1', 0n);
    progress.received('p0', 1n);
    expect(progress.finish('p1', 0n, 'p1-0')).toBe('p1-0');
    expect(progress.finish('p0', 0n, 'p0-0')).toBe('p0-0');
    progress.received('p0', 2n);
    expect(progress.finish('p0', 2n, 'p0-2')).toBeUndefined();
    expect(progress.finish('p0', 1n, 'p0-1')).toBe('p0-2');
  });

  it('never commits past a message still in flight that was received after others finished', () => {
    const progress = new PartitionProgress<string>();
    progress.received('p0', 5n);
    expect(progress.finish('p0', 5n, 'm5')).toBe('m5');
    progress.received('p0', 6n);
    progress.received('p0', 7n);
    expect(progress.finish('p0', 7n, 'm7')).toBeUndefined();
    expect(progress.finish('p0', 6n, 'm6')).toBe('m7');
  });
});
