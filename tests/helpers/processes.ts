// Child processes in the ops tests: a free loopback port to give them, and their output
// collected line by line (JSON logs are read back from it).
import type { ChildProcess } from 'node:child_process';
import net, { type AddressInfo } from 'node:net';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** Appends each complete line the child writes (stdout and stderr) to `lines`; returns `lines`. */
export function collectLines(child: ChildProcess, lines: string[] = []): string[] {
  for (const stream of [child.stdout, child.stderr]) {
    let buf = '';
    stream?.on('data', (d: Buffer) => {
      buf += d.toString();
      const parts = buf.split('\n');
      buf = parts.pop() ?? '';
      lines.push(...parts.filter(Boolean));
    });
  }
  return lines;
}
