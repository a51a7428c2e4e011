// A registry of the test's own: a real CNCF distribution registry process on a free loopback
// port, with storage in a temp dir, that the test can kill (by its pid) and start again on the
// same port and storage, as an outage and a recovery look from outside.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { tempDir } from './spec.ts';

export interface OwnRegistry {
  host: string;
  pid: () => number;
  /** SIGKILL, as a crash: nothing flushed, connections cut. */
  kill: () => Promise<void>;
  start: () => Promise<void>;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function answers(host: string): Promise<boolean> {
  try {
    return (await fetch(`http://${host}/v2/`)).ok;
  } catch {
    return false;
  }
}

export async function ownRegistry(): Promise<OwnRegistry> {
  const dir = tempDir('manager-registry-');
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const config = join(dir, 'config.yml');
  writeFileSync(config, `version: 0.1\nlog: { level: warn }\nstorage: { filesystem: { rootdirectory: ${join(dir, 'data')} }, delete: { enabled: true } }\nhttp: { addr: "${host}" }\n`);
  let child: ChildProcess | undefined;
  const reg: OwnRegistry = {
    host,
    pid: () => child!.pid!,
    kill: async () => {
      if (!child || child.exitCode !== null) return;
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    },
    start: async () => {
      child = spawn('docker-registry', ['serve', config], { stdio: 'ignore' });
      for (let i = 0; i < 60 && !(await answers(host)); i++) await new Promise((r) => setTimeout(r, 250));
      if (!(await answers(host))) throw new Error(`the test registry on ${host} did not start`);
    },
  };
  await reg.start();
  return reg;
}
