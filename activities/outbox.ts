// The outbox directory used when no letter or agency provider is configured: each
// delivery is a file (or a folder) under <DATA_DIR>/outbox/, written atomically (a
// temporary name, then rename) so that an existing entry always means "delivered".
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';

export function outboxDir(dataDir: string, kind: 'letters' | 'agency'): string {
  return path.resolve(dataDir, 'outbox', kind);
}

export async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

function tmpName(target: string): string {
  return path.join(path.dirname(target), `.tmp-${path.basename(target)}-${randomBytes(6).toString('hex')}`);
}

/** Writes `data` to `target` via a temporary file and rename: readers never see half a file. */
export async function writeFileAtomic(target: string, data: Buffer | string): Promise<void> {
  await mkdir(path.dirname(target), { recursive: true });
  const tmp = tmpName(target);
  try {
    await writeFile(tmp, data);
    await rename(tmp, target);
  } finally {
    await rm(tmp, { force: true });
  }
}

/**
 * Writes the files of a folder under a temporary name and renames it to `target`.
 * Returns false, leaving the existing folder alone, when `target` already exists.
 */
export async function writeDirAtomic(target: string, files: Array<{ name: string; data: Buffer | string }>): Promise<boolean> {
  if (await exists(target)) return false;
  await mkdir(path.dirname(target), { recursive: true });
  const tmp = tmpName(target);
  try {
    await mkdir(tmp);
    for (const f of files) await writeFile(path.join(tmp, f.name), f.data);
    await rename(tmp, target);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if ((code === 'ENOTEMPTY' || code === 'EEXIST') && (await exists(target))) return false; // a concurrent attempt won
    throw err;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
