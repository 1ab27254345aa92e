import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createSendRateLimiter } from '../../../activities/rate-limit';

/** Most instants in any window [t, t + ms) that starts at one of them. */
function maxInWindow(times: number[], ms = 1000): number {
  const t = [...times].sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; i < t.length; i++) {
    while (j < t.length && t[j] < t[i] + ms) j++;
    most = Math.max(most, j - i);
  }
  return most;
}

describe('send rate limiter (sliding window)', () => {
  let t0 = 0;
  const at = () => performance.now() - t0;
  beforeEach(() => {
    vi.useFakeTimers();
    t0 = performance.now();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('lets at most N through in any rolling second: 23 at 5/s take 4 s', async () => {
    const limiter = createSendRateLimiter(5);
    const times: number[] = [];
    const all = Array.from({ length: 23 }, () => limiter.acquire().then(() => times.push(at())));
    await vi.advanceTimersByTimeAsync(10_000);
    await Promise.all(all);
    expect(times).toHaveLength(23);
    expect(maxInWindow(times)).toBe(5);
    // 5 at 0, 1, 2 and 3 s, the last 3 at 4 s: not earlier, and no idle gaps.
    expect(Math.max(...times)).toBeGreaterThanOrEqual(4000);
    expect(Math.max(...times)).toBeLessThan(4050);
    expect(times.filter((t) => t < 1000)).toHaveLength(5);
  });

  it('does not let a burst through after a quiet spell (where a token bucket would)', async () => {
    const limiter = createSendRateLimiter(5);
    const times: number[] = [];
    for (let i = 0; i < 5; i++) void limiter.acquire().then(() => times.push(at()));
    await vi.advanceTimersByTimeAsync(900);
    const late = Array.from({ length: 5 }, () => limiter.acquire().then(() => times.push(at())));
    await vi.advanceTimersByTimeAsync(99);
    expect(times).toHaveLength(5); // still inside the first second
    await vi.advanceTimersByTimeAsync(1);
    await Promise.all(late);
    expect(times.slice(5).every((t) => t >= 1000)).toBe(true);
    expect(maxInWindow(times)).toBe(5);
  });

  it('serves waiters first in, first out', async () => {
    const limiter = createSendRateLimiter(2);
    const order: number[] = [];
    const all = Array.from({ length: 9 }, (_, i) => limiter.acquire().then(() => order.push(i)));
    await vi.advanceTimersByTimeAsync(1000);
    // A newcomer while others wait queues behind them.
    all.push(limiter.acquire().then(() => order.push(99)));
    await vi.advanceTimersByTimeAsync(10_000);
    await Promise.all(all);
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 99]);
  });

  it('an aborted waiter rejects with the reason and leaves the queue; the others proceed', async () => {
    const limiter = createSendRateLimiter(1);
    const times = new Map<string, number>();
    const a = limiter.acquire().then(() => times.set('a', at()));
    const ctl = new AbortController();
    const b = limiter.acquire(ctl.signal).then(() => times.set('b', at()));
    const c = limiter.acquire().then(() => times.set('c', at()));
    const reason = new Error('activity cancelled');
    await vi.advanceTimersByTimeAsync(500);
    ctl.abort(reason);
    await expect(b).rejects.toBe(reason);
    await vi.advanceTimersByTimeAsync(5_000);
    await Promise.all([a, c]);
    expect(times.has('b')).toBe(false);
    expect(times.get('a')).toBe(0);
    expect(times.get('c')).toBe(1000); // takes b's turn
    // An already aborted signal rejects at once and uses no turn.
    const gone = new AbortController();
    gone.abort(reason);
    await expect(limiter.acquire(gone.signal)).rejects.toBe(reason);
    const d = limiter.acquire().then(() => times.set('d', at()));
    await vi.advanceTimersByTimeAsync(5_000);
    await d;
    expect(times.get('d')).toBe(5500); // free since 2000 (c + 1 s), granted as soon as asked
  });

  it('aborting the only waiter leaves no timer behind', async () => {
    const limiter = createSendRateLimiter(1);
    await limiter.acquire();
    const ctl = new AbortController();
    const p = limiter.acquire(ctl.signal);
    ctl.abort(new Error('stop'));
    await expect(p).rejects.toThrow('stop');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('spaces grants by 1000/rate ms for a rate below 1 (0.5/s: every 2 s)', async () => {
    const limiter = createSendRateLimiter(0.5);
    const times: number[] = [];
    const all = Array.from({ length: 3 }, () => limiter.acquire().then(() => times.push(at())));
    await vi.advanceTimersByTimeAsync(1999);
    expect(times).toEqual([0]);
    await vi.advanceTimersByTimeAsync(10_000);
    await Promise.all(all);
    expect(times).toEqual([0, 2000, 4000]);
  });

  it('widens the window by marginMs (the worker guards so against grant-to-send lag)', async () => {
    const limiter = createSendRateLimiter(5, { marginMs: 25 });
    const times: number[] = [];
    const all = Array.from({ length: 11 }, () => limiter.acquire().then(() => times.push(at())));
    await vi.advanceTimersByTimeAsync(1024);
    expect(times).toHaveLength(5);
    await vi.advanceTimersByTimeAsync(5_000);
    await Promise.all(all);
    expect(times).toEqual([0, 0, 0, 0, 0, 1025, 1025, 1025, 1025, 1025, 2050]);
    // Even if every send of a batch started 24 ms after its grant, no second would hold 6.
    expect(maxInWindow(times.map((t, i) => (i < 5 ? t + 24 : t)))).toBe(5);
    expect(() => createSendRateLimiter(5, { marginMs: -1 })).toThrow(RangeError);
  });

  it('rounds a fractional rate above 1 down, and refuses a rate that is not positive', async () => {
    const limiter = createSendRateLimiter(2.9);
    const times: number[] = [];
    const all = Array.from({ length: 5 }, () => limiter.acquire().then(() => times.push(at())));
    await vi.advanceTimersByTimeAsync(5_000);
    await Promise.all(all);
    expect(times).toEqual([0, 0, 1000, 1000, 2000]);
    expect(() => createSendRateLimiter(0)).toThrow(RangeError);
    expect(() => createSendRateLimiter(Number.NaN)).toThrow(RangeError);
  });
});
