// A strict, in-process send-rate limiter for the channel workers.
//
// Temporal's rate options (maxTaskQueueActivitiesPerSecond, maxActivitiesPerSecond) are
// token buckets: after a quiet spell they let a burst above the steady rate through
// (bench:burst measured up to 30 email starts in one second at a limit of 20/s). A
// provider's limit is a hard cap, so each channel worker also passes every activity
// through this limiter: at most N grants in any rolling 1,000 ms window (a sliding
// window over the last N grant instants), which a token bucket does not guarantee.
//
// Hand-written rather than a library: none is installed (only p-limit, a concurrency
// limiter), and the usual ones are either token buckets / reservoirs (bottleneck,
// limiter) or would add a dependency for ~40 lines (p-throttle's strict mode).
//
// The cap holds within this process only; across worker processes the task-queue limit
// on the server spreads the load.
//
// A grant is an instant in this limiter; the send it allows starts a little later (the
// caller's continuation, a GC pause, the network). A batch granted at t and the next one
// at exactly t + 1 s can then be seen less than a second apart by whoever counts them
// (bench:burst saw 21-25 in a window at 20/s from ~0.2-1.2 ms of such lag), so callers
// that face a provider's limit pass a margin that widens the window.

export interface SendRateLimiter {
  /** Resolves when the caller may send; rejects with the signal's reason if it aborts first. */
  acquire(signal?: AbortSignal): Promise<void>;
}

const WINDOW_MS = 1_000;

interface Waiter {
  resolve: () => void;
  reject: (reason: unknown) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

export interface SendRateLimiterOptions {
  /** Extra ms added to the window (default 0), to absorb the lag between a grant and its send. */
  marginMs?: number;
}

/**
 * At most N = floor(rate) (at least 1) grants in any rolling 1,000 ms window; a rate
 * below 1 spaces grants by 1000 / rate ms instead. Waiters are served first in, first out.
 */
export function createSendRateLimiter(ratePerSecond: number, opts: SendRateLimiterOptions = {}): SendRateLimiter {
  if (!(ratePerSecond > 0) || !Number.isFinite(ratePerSecond)) throw new RangeError(`rate must be a positive number, got ${ratePerSecond}`);
  const margin = opts.marginMs ?? 0;
  if (!(margin >= 0) || !Number.isFinite(margin)) throw new RangeError(`marginMs must be a non-negative number, got ${margin}`);
  // A window of `window` ms holding at most `n` grants: N per second, or one per 1000/rate ms.
  const n = ratePerSecond >= 1 ? Math.floor(ratePerSecond) : 1;
  const window = (ratePerSecond >= 1 ? WINDOW_MS : WINDOW_MS / ratePerSecond) + margin;
  // Monotonic clock (wall-clock jumps must not open or stall the window).
  const now = () => performance.now();
  const granted: number[] = []; // instants of the last n grants, oldest first
  const waiters: Waiter[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;

  /** How long until one more grant fits in the window (0: now). */
  const wait = (t: number) => (granted.length < n ? 0 : Math.max(0, granted[0] + window - t));

  const pump = () => {
    timer = undefined;
    const t = now();
    while (waiters.length > 0 && wait(t) === 0) {
      const w = waiters.shift()!;
      if (w.onAbort) w.signal?.removeEventListener('abort', w.onAbort);
      granted.push(t);
      if (granted.length > n) granted.shift();
      w.resolve();
    }
    // One timer at a time, for the head of the queue. Should a timer fire a little early
    // against the clock, wait() is still > 0 and this simply re-arms for the remainder.
    if (waiters.length > 0) timer = setTimeout(pump, Math.max(1, Math.ceil(wait(t))));
  };

  return {
    acquire(signal) {
      if (signal?.aborted) return Promise.reject(signal.reason);
      return new Promise<void>((resolve, reject) => {
        const w: Waiter = { resolve, reject, signal };
        if (signal) {
          w.onAbort = () => {
            const i = waiters.indexOf(w);
            if (i >= 0) waiters.splice(i, 1);
            reject(signal.reason);
            // The timer may have been armed for this waiter's turn only; the next one's
            // turn is the same instant (wait() depends on the grants, not on who waits).
            if (waiters.length === 0 && timer !== undefined) {
              clearTimeout(timer);
              timer = undefined;
            }
          };
          signal.addEventListener('abort', w.onAbort, { once: true });
        }
        waiters.push(w);
        if (timer === undefined) pump();
      });
    },
  };
}
