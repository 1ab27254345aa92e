// DIAGNOSTIC ONLY, never in production: measures what two fixed costs of the Temporal
// TypeScript SDK (1.24) weigh in bench:lifecycle by switching them off in the workflow
// threads. Loaded with --import before tsx:
//   BENCH_NO_WATCHDOG=1 BENCH_NO_STACK_HOOK=1 node --import ./bench/diagnostics/sdk-overheads.mjs --import tsx bench/lifecycle.ts ...
// - BENCH_NO_WATCHDOG: the SDK calls into the workflow's V8 context with vm's `timeout`
//   (isolateExecutionTimeout, its deadlock detector), and Node starts and joins a watchdog
//   thread for every such call (nodejs/node#47739). Dropping the timeout removes the
//   detector: a workflow stuck in a loop would hang its thread.
// - BENCH_NO_STACK_HOOK: the SDK installs a V8 promise hook that captures a stack trace for
//   every promise a workflow creates (the UI's stack-trace query; sdk-typescript#1587).
//   Refusing it the way Bun does (createHook throws) leaves workflows running without
//   stack traces.
import vm from 'node:vm';
import v8 from 'node:v8';
import { isMainThread } from 'node:worker_threads';

if (!isMainThread && process.env.BENCH_NO_WATCHDOG === '1') {
  const run = vm.Script.prototype.runInContext;
  vm.Script.prototype.runInContext = function (context, options) {
    if (options && options.timeout !== undefined) {
      const { timeout: _timeout, ...rest } = options;
      return run.call(this, context, rest);
    }
    return run.call(this, context, options);
  };
}
if (!isMainThread && process.env.BENCH_NO_STACK_HOOK === '1') {
  const createHook = v8.promiseHooks.createHook;
  v8.promiseHooks.createHook = function (hooks) {
    // Only the SDK's hook (vm-shared.js); Node's own users (AsyncLocalStorage) keep theirs.
    if (new Error().stack?.includes('vm-shared')) throw new Error('stack-trace promise hook disabled (diagnostic)');
    return createHook.call(this, hooks);
  };
}
