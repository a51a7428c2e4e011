// Publishing never stops half-way: a merge whose second tag the registry refuses puts back the
// tags it moved first, so every public tag still points where it did before the run, and the
// run says so; through the registry API (the default) and with `imagetools create` (its second
// wave). Through the fault-injecting proxy, in front of the real registry.
import { appendFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseImageRef } from '../../core/base/image-ref.ts';
import { registryClient } from '../../tasks/registry.ts';
import { cli } from '../helpers/cli.ts';
import { e2eEnv, e2eSpec, removeLocalImages, taskRows } from '../helpers/e2e.ts';
import { startFaultProxy, type FaultProxy } from '../helpers/proxy.ts';

const env = e2eEnv();

describe.each(['api', 'imagetools'])('a merge that fails half-way (--merge %s)', (merge) => {
  const ns = `rollback-${merge}-${Date.now().toString(36)}`;
  let s: ReturnType<typeof e2eSpec> | undefined;
  let proxy: FaultProxy | undefined;
  const creds = { E2E_REGISTRY_USER: env.user, E2E_REGISTRY_PASSWORD: env.password };
  afterAll(async () => {
    await proxy?.close();
    if (s) rmSync(s.dir, { recursive: true, force: true });
    removeLocalImages(ns);
  });

  it('puts back the tags it moved first, and says which', async () => {
    proxy = await startFaultProxy(env.registry, []);
    const port = Number(proxy.host.split(':')[1]);
    const login = spawnSync('docker', ['login', proxy.host, '-u', env.user, '--password-stdin'], { input: env.password, encoding: 'utf8' });
    expect(login.status, login.stderr).toBe(0);
    s = e2eSpec(env, ns, 'offline');
    // One repository, two tags of one image: two waves (the first tag, then the other).
    writeFileSync(s.manifest, readFileSync(s.manifest, 'utf8')
      .replace(`host: "${env.registry}"`, `host: "${proxy.host}"`)
      .replace('python: ["3.11", "3.9"]', 'python: ["3.11"]')
      .replace('architectures: [amd64, arm64v8]\n    releases', 'architectures: [amd64]\n    releases')
      .replace('tags: ["base-python{python}-{distro}"]', 'tags: ["base-python{python}-{distro}", "base-latest-{distro}"]'));
    const build = () => cli(['build', s!.manifest, '--releases', 'base', '--python-version', '3.11', '--output', s!.generated, '--json', '--merge', merge], { env: creds });
    const first = build();
    expect(first.code, first.stderr.slice(-2000)).toBe(0);

    const client = registryClient();
    const digestOf = async (tag: string) => (await client.head(parseImageRef(`${env.registry}/${ns}/offline-app:${tag}`)))?.digest;
    try {
      const before = { a: await digestOf('base-python3.11-bookworm'), b: await digestOf('base-latest-bookworm') };
      expect(before.a).toMatch(/^sha256:/);
      expect(before.b).toBe(before.a);

      // The image changes; the registry then refuses the second tag's index, every time.
      await proxy.close();
      proxy = await startFaultProxy(env.registry, [{ method: 'PUT', path: '/manifests/base-latest-bookworm$', status: 403 }], port);
      appendFileSync(join(s.dir, 'templates', 'debian', 'base.Dockerfile.eta'), `LABEL e2e.step="${ns}"\n`);
      const second = build();
      expect(second.code).toBe(1);
      const m = taskRows(second.stdout, second.stderr).find((x) => x.id === 'manifest:offline-app/bookworm/base/py3.11')!;
      expect(m.status).toBe('failed');
      expect(m.reason).toMatch(/put back: .*offline-app:base-python3\.11-bookworm/);
      expect(proxy.injected().some((x) => x.status === 403)).toBe(true);
      // Every public tag is where it was.
      expect(await digestOf('base-python3.11-bookworm')).toBe(before.a);
      expect(await digestOf('base-latest-bookworm')).toBe(before.b);
    } finally {
      await client.close();
    }
  });
});
