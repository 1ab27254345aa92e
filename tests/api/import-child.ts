// An API process for tests/api/import-jobs.test.ts to SIGKILL in the middle of an import
// job: the real startApi (which starts the import-job processor) against the test's
// database and Temporal server, configured from the environment. Prints "LISTENING <url>".
import { Client, Connection } from '@temporalio/client';
import { pino } from 'pino';
import { startApi } from '../../api/server';
import { loadConfig } from '../../config/index';
import { createPrisma } from '../../prisma/client';

const config = loadConfig();
const prisma = createPrisma(config.DATABASE_URL!, { max: 2 });
const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS! });
const temporal = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
const api = await startApi({ config, prisma, temporal, port: 0, host: '127.0.0.1', log: pino({ level: 'warn' }), workflowTaskQueue: process.env.WORKFLOW_TASK_QUEUE });
console.log(`LISTENING ${api.url}`);
