import { describe, expect, it } from 'vitest';
import { ChangeBudget } from '../../workflows/change-budget';

describe('ChangeBudget', () => {
  it('takes `limit` changes per window and says how long until the next one', () => {
    const budget = new ChangeBudget(3, 60_000);
    for (const at of [0, 10_000, 20_000]) {
      expect(budget.waitBefore(at)).toBeNull();
      budget.spend(at);
    }
    expect(budget.waitBefore(30_000)).toBe(30_000);
    expect(budget.waitBefore(59_999)).toBe(1);
    expect(budget.waitBefore(60_000)).toBeNull();
  });

  it('carries the changes still inside the window to the next run', () => {
    const first = new ChangeBudget(2, 60_000);
    first.spend(0);
    first.spend(50_000);
    expect(first.recent(70_000)).toEqual([50_000]);

    const next = new ChangeBudget(2, 60_000, first.recent(70_000));
    next.spend(70_000);
    expect(next.waitBefore(75_000)).toBe(35_000);
    expect(next.waitBefore(110_000)).toBeNull();
  });
});
