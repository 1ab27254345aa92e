// The console of `npm start`: short, coloured lines (pino-pretty, in this process) when a
// person watches a terminal; JSON lines otherwise (piped to a file, CI's smoke test), so tools
// can still read them. LOG_FORMAT=json|pretty overrides the guess.
import { pino, type DestinationStream, type Logger } from 'pino';
import pretty from 'pino-pretty';
import type { Config } from '../config/index';

/** Pretty lines for a terminal, JSON for anything else (or as LOG_FORMAT says). */
export function wantsPrettyLogs(out: { isTTY?: boolean }, format: Config['LOG_FORMAT'] = 'auto'): boolean {
  if (format !== 'auto') return format === 'pretty';
  return out.isTTY === true;
}

/** One line per event: a request as "GET /v1/invoices → 200 12 ms", anything else its message. */
function line(log: Record<string, unknown>, messageKey: string): string {
  const req = log.req as { method?: string; url?: string } | undefined;
  const res = log.res as { statusCode?: number } | undefined;
  if (req?.method && res?.statusCode) return `${req.method} ${req.url} → ${res.statusCode} ${log.responseTime ?? '?'} ms`;
  return String(log[messageKey] ?? '');
}

export function devLogger(config: Pick<Config, 'LOG_LEVEL' | 'LOG_FORMAT'>, out: NodeJS.WritableStream & { isTTY?: boolean } = process.stdout): Logger {
  const options = { level: config.LOG_LEVEL, base: { service: 'relance' } };
  if (!wantsPrettyLogs(out, config.LOG_FORMAT)) return pino(options, out as DestinationStream);
  return pino(
    options,
    pretty({
      destination: out,
      sync: true,
      colorize: true,
      translateTime: 'SYS:HH:MM:ss',
      singleLine: true,
      // What the line says already, or nobody reads while developing.
      ignore: 'pid,hostname,service,req,res,responseTime,reqId',
      messageFormat: line,
    }),
  );
}
