// Container healthcheck of the relance image (plain Node, no tsx: it runs every few seconds).
//   node deploy/healthcheck.mjs api      GET /healthz on API_PORT (default 3000)
//   node deploy/healthcheck.mjs worker   GET /healthz on WORKER_METRICS_PORT (default 9465): 200 when every Worker is RUNNING
//   node deploy/healthcheck.mjs          whichever of the two answers (the Dockerfile's default)
const role = process.argv[2];
const ports = {
  api: Number(process.env.API_PORT || 3000),
  worker: Number(process.env.WORKER_METRICS_PORT || 9465),
};
const probe = async (port) => {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(3000) });
    return res.ok;
  } catch {
    return false;
  }
};
const roles = role ? [role] : ['api', 'worker'];
for (const r of roles) {
  if (!(r in ports)) {
    console.error(`unknown role ${r}: api or worker`);
    process.exit(2);
  }
  if (await probe(ports[r])) process.exit(0);
}
process.exit(1);
