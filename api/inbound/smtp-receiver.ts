// The inbound SMTP receiver for self-hosting (smtp-server): point INBOUND_DOMAIN's MX at it.
// It takes mail only for INBOUND_DOMAIN (never a relay), at most INBOUND_MAX_BYTES (SIZE
// advertised, 552 past it), and answers 250 only once the message is stored and applied
// (process.ts); a failure there is a 451, so the sending server retries later.
import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerDataStream } from 'smtp-server';
import type { Logger } from 'pino';
import { receiveInbound, type InboundDeps, type InboundOutcome } from './process';

export interface InboundSmtp {
  port: number;
  stop(): Promise<void>;
}

function smtpError(message: string, responseCode: number): Error {
  return Object.assign(new Error(message), { responseCode });
}

async function readLimited(stream: SMTPServerDataStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function startInboundSmtp(
  deps: InboundDeps & { log?: Pick<Logger, 'info' | 'warn'>; onReceived?: (o: InboundOutcome) => void },
  opts: { port: number; host: string },
): Promise<InboundSmtp> {
  const { config } = deps;
  const domain = config.INBOUND_DOMAIN?.toLowerCase();
  const server = new SMTPServer({
    name: domain ?? 'relance-inbound',
    banner: 'Relance inbound',
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    size: config.INBOUND_MAX_BYTES,
    logger: false,
    onRcptTo(address, _session, callback) {
      const at = address.address.lastIndexOf('@');
      const rcptDomain = address.address.slice(at + 1).toLowerCase();
      if (!domain || at < 0 || rcptDomain !== domain) return callback(smtpError(`5.7.1 relaying denied for ${address.address}`, 550));
      callback();
    },
    onData(stream, session, callback) {
      readLimited(stream)
        .then(async (raw) => {
          if (stream.sizeExceeded) throw smtpError(`5.3.4 message exceeds ${config.INBOUND_MAX_BYTES} bytes`, 552);
          const outcome = await receiveInbound(deps, raw, {
            source: 'smtp',
            recipients: session.envelope.rcptTo.map((r) => r.address),
          });
          deps.log?.info({ inbound: outcome }, 'inbound message received');
          deps.onReceived?.(outcome);
          callback();
        })
        .catch((err: Error & { responseCode?: number }) => {
          if (err.responseCode) return callback(err);
          deps.log?.warn({ err: err.message }, 'inbound message not processed, sender asked to retry');
          callback(smtpError('4.3.0 temporarily unable to process the message, try again later', 451));
        });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => deps.log?.warn({ err: err.message }, 'inbound SMTP error'));
  return {
    port: (server.server.address() as AddressInfo).port,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
