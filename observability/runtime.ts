// The Temporal SDK runtime of a worker process, installed once before the first
// NativeConnection: JSON logs through pino and the SDK's Prometheus exporter.
//
//   - Logs: activity and workflow logs (Context.current().log, workflow `log`) come out as
//     pino JSON lines at LOG_LEVEL, carrying workflowId, workflowType, activityType, taskQueue
//     and the fields each call adds (invoiceNumber, stepId, channel, idempotencyKey...). The SDK's
//     own chatter (worker state changes, Core) is kept to warnings unless LOG_LEVEL is debug/trace.
//   - Metrics: WORKER_METRICS_ADDRESS (default 127.0.0.1:9464, off under NODE_ENV=test, "off"
//     disables) serves the SDK's metrics (temporal_* : task latencies, slots, poll results,
//     activity/workflow failures...) in Prometheus format. If that address is taken, the worker
//     runs without SDK metrics and says so, rather than not starting.
//
// Runtime.install may be called once per process, before any NativeConnection; a process that
// already has a Runtime (tests install a quiet one) keeps it.
import { makeTelemetryFilterString, Runtime, type LogLevel, type LogMetadata, type Logger } from '@temporalio/worker';
import { pino, type Logger as PinoLogger } from 'pino';
import type { Config } from '../config/index';

export interface InstalledRuntime {
  /** True when this call (or an earlier one of ours) installed the Runtime. */
  ours: boolean;
  /** Where the SDK's Prometheus exporter listens, when it does. */
  sdkMetricsAddress?: string;
}

let installed: InstalledRuntime | undefined;

const RANK: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: 100 };
const SDK_INTERNAL = new Set(['worker', 'core', 'client', 'nexus']);

/** The SDK's exporter address for this configuration, or undefined when off. */
export function sdkMetricsAddress(config: Pick<Config, 'WORKER_METRICS_ADDRESS' | 'NODE_ENV'>): string | undefined {
  const v = config.WORKER_METRICS_ADDRESS;
  if (v === undefined) return config.NODE_ENV === 'test' ? undefined : '127.0.0.1:9464';
  return v === 'off' || v === '0' ? undefined : v;
}

/** A Temporal Logger that writes pino JSON; SDK-internal messages below `sdkFloor` are dropped. */
export function temporalLogger(log: PinoLogger, sdkFloor: string = 'warn'): Logger {
  const floor = Math.max(RANK[sdkFloor] ?? 40, RANK[log.level] ?? 30);
  const emit = (level: LogLevel, message: string, meta?: LogMetadata) => {
    const lvl = level.toLowerCase() as 'trace' | 'debug' | 'info' | 'warn' | 'error';
    const component = (meta as { sdkComponent?: string } | undefined)?.sdkComponent;
    if (component && SDK_INTERNAL.has(component) && RANK[lvl] < floor) return;
    // Channel workers poll activity queues only, on purpose.
    if (message.startsWith('No workflows registered, not polling')) return;
    // The task token is a long opaque blob: noise in a log line.
    const { taskToken: _taskToken, ...fields } = (meta ?? {}) as Record<string, unknown>;
    log[lvl](fields, message);
  };
  return {
    log: emit,
    trace: (m, meta) => emit('TRACE', m, meta),
    debug: (m, meta) => emit('DEBUG', m, meta),
    info: (m, meta) => emit('INFO', m, meta),
    warn: (m, meta) => emit('WARN', m, meta),
    error: (m, meta) => emit('ERROR', m, meta),
  };
}

/**
 * Installs the worker process's Runtime (idempotent). Call before the first NativeConnection;
 * worker/main.ts `startWorkers` does, so both `npm run worker` and `npm start` get it.
 */
export function installWorkerRuntime(config: Config, log?: PinoLogger): InstalledRuntime {
  if (installed) return installed;
  if (Runtime._instance) {
    installed = { ours: false };
    return installed;
  }
  const logger = log ?? pino({ level: config.LOG_LEVEL, base: { service: 'relance-worker' } });
  const verbose = (RANK[config.LOG_LEVEL] ?? 30) <= RANK.debug;
  const sdkFloor = verbose ? config.LOG_LEVEL : 'warn';
  const coreLevel = verbose ? 'DEBUG' : 'WARN';
  const address = sdkMetricsAddress(config);
  const options = (metricsAddress?: string) => ({
    logger: temporalLogger(logger, sdkFloor),
    telemetryOptions: {
      logging: { filter: makeTelemetryFilterString({ core: coreLevel, other: 'WARN' }), forward: {} },
      ...(metricsAddress ? { metrics: { prometheus: { bindAddress: metricsAddress } } } : {}),
    },
  });
  try {
    Runtime.install(options(address));
    installed = { ours: true, sdkMetricsAddress: address };
  } catch (err) {
    if (!address || Runtime._instance) throw err;
    logger.warn({ err: (err as Error).message, address }, 'SDK metrics exporter could not listen (WORKER_METRICS_ADDRESS); running without SDK metrics');
    Runtime.install(options(undefined));
    installed = { ours: true };
  }
  return installed;
}

/** What installWorkerRuntime did in this process (undefined before it ran). */
export function installedRuntime(): InstalledRuntime | undefined {
  return installed;
}
