// docs/getting-started.md, run as written: its bash blocks in order, in a fresh directory, with
// only step 0's three settings pointed at this machine (the test registry, its base image, and
// this tool packed by `npm pack`, so the packed package is proven to install and run). Then the
// registry holds what the page promises.
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { docker, e2eEnv } from '../helpers/e2e.ts';
import { REPO, tempDir } from '../helpers/spec.ts';

const e = e2eEnv();

/** The page's ```bash blocks, in order. */
function bashBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```bash\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
}

describe('docs/getting-started.md', () => {
  it('runs as written: from init to tested multi-arch images in the registry, and a rerun that builds nothing', () => {
    const blocks = bashBlocks(readFileSync(join(REPO, 'docs', 'getting-started.md'), 'utf8'));
    expect(blocks.length).toBeGreaterThanOrEqual(6);
    expect(blocks[0]).toMatch(/^REGISTRY=.*\nBASE_IMAGE=.*\nMANAGER_PACKAGE=.*\n$/);
    const packDir = tempDir('pack-');
    const pack = spawnSync('npm', ['pack', '--silent', '--pack-destination', packDir], { cwd: REPO, encoding: 'utf8', timeout: 300_000 });
    expect(pack.status, pack.stderr).toBe(0);
    const tarball = join(packDir, readdirSync(packDir).find((f) => f.endsWith('.tgz'))!);
    const ns = `gs-${Date.now().toString(36)}`;
    const script = [
      'set -euo pipefail',
      blocks[0],
      // The only change: step 0's settings, for this machine.
      `REGISTRY=${e.registry}`, `BASE_IMAGE=${e.baseImage}`, `MANAGER_PACKAGE=${tarball}`,
      ...blocks.slice(1).map((b) => b.replace('namespace: demo', `namespace: ${ns}`)),
    ].join('\n');
    const dir = tempDir('getting-started-');
    // A clean environment: no npm_* variables of the test runner's own npm.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('npm_')));
    const r = spawnSync('bash', ['-c', script], { cwd: dir, encoding: 'utf8', timeout: 1_200_000, env: { ...env, CI: 'true', REGISTRY_USER: e.user, REGISTRY_PASSWORD: e.password } });
    expect(r.status, `${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`).toBe(0);
    // Step 3's release graph is the one the page shows.
    expect(r.stdout).toContain('graph LR\n  n0["base<br/>2 images on debian12"]\n  n1["runtime<br/>2 images on debian12"]\n  n0 --> n1');
    for (const tag of ['0.1.0-python3.12', '0.1.0-python3.11', 'latest', 'base-python3.11']) {
      const inspect = docker(['buildx', 'imagetools', 'inspect', '--raw', `${e.registry}/${ns}/myapp:${tag}`]);
      expect(inspect.code, `${tag}: ${inspect.stderr}`).toBe(0);
      const index = JSON.parse(inspect.stdout) as { manifests: { platform?: { architecture: string } }[] };
      expect(index.manifests.map((m) => m.platform?.architecture).filter((a) => a && a !== 'unknown').sort(), tag).toEqual(['amd64', 'arm64']);
    }
    // Step 5: the last run built nothing.
    const last = r.stdout.slice(r.stdout.lastIndexOf('status '));
    expect(last).toMatch(/^✔ done: 0 built, 0 ran, \d+ skipped, 0 failed/m);
    expect(readFileSync(join(dir, 'myapp-images', 'generated', 'myapp', '.manager', 'report.html'), 'utf8')).toContain('myapp 0.1.0: build report');
  }, 1_500_000);
});
