// Child process for crash-retry.test.ts: runs sendEmail once as a worker would and
// dies (SIGKILL, no cleanup) right after the SMTP server accepted the message, before
// the communication log is completed. Input: env RELANCE_CRASH_INPUT (JSON SendInput),
// DATABASE_URL, SMTP_PORT.
import { createSendEmail } from '../../activities/email';
import { createPrisma } from '../../prisma/client';
import { loadConfig } from '../../config/index';
import type { SendInput } from '../../activities/types';
import { runActivity } from './support';

const input = JSON.parse(process.env.RELANCE_CRASH_INPUT ?? '{}') as SendInput;
const prisma = createPrisma(process.env.DATABASE_URL!);
const sendEmail = createSendEmail({
  prisma,
  config: loadConfig(process.env),
  log: { info: () => {}, warn: () => {} },
  hooks: {
    afterDeliver() {
      process.stdout.write('accepted by SMTP; dying now\n');
      process.kill(process.pid, 'SIGKILL');
    },
  },
});
await runActivity(sendEmail, input);
process.stdout.write('completed (the hook did not run)\n');
await prisma.$disconnect();
