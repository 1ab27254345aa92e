// What goes into the workflow bundle is what every worker holds in memory (and parses in
// its workflow thread): the holiday library and its calendars weighed ~150 MB of RSS.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { workflowBundle, workflowBundleFile } from '../../worker/create-worker';

describe('workflow bundle', () => {
  it('leaves date-holidays, moment and astronomia out (holidays come through a local activity)', async () => {
    const { code } = await workflowBundle();
    const modules = new Set([...code.matchAll(/"\.\/node_modules\/((?:@[^/]+\/)?[^/]+)\//g)].map((m) => m[1]));
    expect(modules.has('luxon')).toBe(true); // the scan itself works
    for (const heavy of ['date-holidays', 'date-holidays-parser', 'moment', 'moment-timezone', 'astronomia']) {
      expect(modules.has(heavy), heavy).toBe(false);
    }
    // Our own modules in it: the workflow's, the shared contracts and the pure domain, nothing from activities/ or api/.
    const ours = [...new Set([...code.matchAll(/"\.\/([a-z-]+)\/[\w./-]+\.ts"/g)].map((m) => m[1]))].sort();
    expect(ours).toEqual(['contracts', 'domain', 'workflows']);
    // And the failure converter that puts failure messages into encrypted payloads.
    expect(code).toContain('./codec/failure-converter.cjs');
  }, 120_000);
});

describe('workflowBundleFile (npm run worker)', () => {
  it('builds the bundle in a child process (scripts/build-workflow-bundle.ts) into a file a Worker can load', async () => {
    const { codePath } = await workflowBundleFile();
    const code = readFileSync(codePath, 'utf8');
    expect(code).toContain('globalThis.__webpack_module_cache__'); // what the reusable V8 context checks
    expect(code).toMatch(/sourceMappingURL=data:application\/json[^,]*;base64,/); // the SDK needs the inline map
    expect(code).toMatch(/invoiceDunning/);
  }, 180_000);

  it('names WORKFLOW_BUNDLE_PATH and the command when the configured file is missing', async () => {
    await expect(workflowBundleFile('/nonexistent/relance-bundle.js')).rejects.toThrow(/WORKFLOW_BUNDLE_PATH=\/nonexistent\/relance-bundle\.js.*npm run build:bundle/);
  });
});
