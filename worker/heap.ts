// The V8 heap cap of a worker process (--max-old-space-size, MB), from its workflow cache.
// Without a cap V8 lets the workflow thread's heap grow far past what is live before a
// major GC: evicted workflow runs stay as garbage, and RSS grew with the number of
// workflows that had passed through a cache of 100 (238 MB after 600, 318 MB after 10,000;
// docs/benchmarks.md, sleeping invoices). With a cap V8 collects sooner: 213–216 MB after
// 3,000 with a cap of 128 or 256 MB. Measured live heap per cached workflow is well under
// 0.1 MB (1,000 cached ran under a 128 MB cap); the cap allows 0.5 MB each on top of
// 128 MB for the process's own modules, so a full cache never nears it.
// deploy/entrypoint.sh computes the same in shell (tests/ops/compose.test.ts checks both agree).
export function workerHeapMb(workflowCacheSize: number): number {
  return 128 + Math.floor(workflowCacheSize / 2);
}
