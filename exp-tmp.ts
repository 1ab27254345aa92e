import pg from 'pg';
import { execFileSync, spawn } from 'node:child_process';
import { startEmbeddedPostgres } from './prisma/embedded';
const db = await startEmbeddedPostgres({ dataDir: 'memory', port: 0, maxConnections: 3 });
// psql (sslmode=prefer → SSLRequest, maybe GSSENC)
const out = execFileSync('psql', [db.url, '-Atc', "select 'psql ok', current_setting('server_version')"], { encoding: 'utf8' });
console.log(out.trim());
// psql pipelined: multiple statements in one -c
console.log(execFileSync('psql', [db.url, '-At', '-c', 'create table z(x int); insert into z values (1),(2); select sum(x) from z'], { encoding: 'utf8' }).trim());
// too many connections
const cs = await Promise.all([1, 2, 3].map(async () => { const c = new pg.Client(db.url); await c.connect(); return c; }));
const extra = new pg.Client(db.url);
try { await extra.connect(); console.log('extra connected?!'); } catch (e) { console.log('refused:', (e as Error).message, (e as any).code); }
// stop while one client is mid-transaction and others wait
await cs[0]!.query('BEGIN'); await cs[0]!.query('insert into z values (5)');
cs.forEach((c) => c.on('error', () => {}));
const waiting = cs[1]!.query('select 1').catch((e) => 'waiter: ' + e.message);
const t0 = Date.now();
await db.stop();
console.log('stopped in', Date.now() - t0, 'ms;', await waiting);
