// Injected faults on the real engine: each test states what it breaks and what must hold.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.ts';
import { docker, e2eEnv, e2eSpec, privateEngine, taskRows as json, type E2EEnv } from '../helpers/e2e.ts';
import { startFaultProxy } from '../helpers/proxy.ts';
import { ownRegistry } from '../helpers/registry-process.ts';
import { REPO, tempDir } from '../helpers/spec.ts';

const env = e2eEnv();

/** The fixture plus a `slow` release (FROM base) whose build sleeps, and optional extras. */
function slowSpec(e: E2EEnv, ns: string, seconds: number, test?: string) {
  const s = e2eSpec(e, ns);
  const tests = test ? `\n    tests:\n      - name: marker\n        run: "cat /slow"\n        expect: { output: "${test}" }` : '';
  writeFileSync(s.manifest, readFileSync(s.manifest, 'utf8')
    .replace('distros:', `  slow:\n    parent: base\n    tags: ["slow-python{python}"]${tests}\ndistros:`)
    .replace('releases: [base, runtime, devel]', 'releases: [base, runtime, devel, slow]'));
  // The namespace makes the step unique, so no earlier run's cache can satisfy it.
  writeFileSync(join(s.dir, 'templates/debian/slow.Dockerfile.eta'), `ARG <%= it.parent_arg %>\nFROM \${<%= it.parent_arg %>}\nARG PYTHON_VERSION\nRUN echo slow-start ${ns} && sleep ${seconds} && echo slow-done > /slow\n`);
  return s;
}

const ONE = ['--python-version', '3.11', '--platforms', 'linux/amd64'];
const creds = (e: E2EEnv) => ({ E2E_REGISTRY_USER: e.user, E2E_REGISTRY_PASSWORD: e.password });

/** `manager build` in the background, resolved once `ready()` holds; killed if it never does. */
async function runUntil(args: string[], env: Record<string, string | undefined>, ready: () => boolean, what: string) {
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'orchestrate.ts'), ...args], { cwd: REPO, env: { ...process.env, CI: 'true', ...env } });
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (d: Buffer) => (out.stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out.stderr += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const deadline = Date.now() + 300_000;
  while (!ready()) {
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${what} never started:\n${out.stderr.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, out, exited };
}

/** The slow build's own step runs: its output (`#N 0.123 slow-start`), not BuildKit echoing its command line. */
const slowStarted = (log: string) => () => existsSync(log) && /^#\d+ [\d.]+ slow-start/m.test(readFileSync(log, 'utf8'));


describe('faults', () => {
  const e = env;
  const ns = `faults-${Date.now().toString(36)}`;

  it('engine unreachable (DOCKER_HOST at a socket with nothing behind it): clear error naming it, exit 1, no image recorded', () => {
    const s = e2eSpec(e, `${ns}-down`);
    const r = cli(['build', s.manifest, '--all', '--multi-platform', 'split', '--output', s.generated], { env: { DOCKER_HOST: 'unix:///tmp/manager-no-engine.sock' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/FAILED build:e2e-app\/bookworm\/base\/.*: cannot reach the Docker engine at unix:\/\/\/tmp\/manager-no-engine\.sock: is dockerd running\?/);
    // The engine is asked for only when a task needs it: the generated files were written, no image was recorded.
    const state = join(s.generated, 'e2e-app', '.manager', 'state.json');
    const recorded = existsSync(state) ? Object.keys((JSON.parse(readFileSync(state, 'utf8')) as { tasks: object }).tasks) : [];
    expect(recorded.filter((id) => !id.startsWith('render:'))).toEqual([]);
  });

  it('engine stopped mid-run (the private engine, stopped while a build runs): clear error naming it, exit 1, state valid, rerun does only the unfinished work', async () => {
    privateEngine('start');
    const tag = `${ns}-stop`;
    const s = e2eSpec(e, tag, 'offline');
    writeFileSync(s.manifest, readFileSync(s.manifest, 'utf8')
      .replace('distros:', '  slow:\n    parent: base\n    tags: ["slow-python{python}"]\ndistros:')
      .replace('releases: [base, runtime, devel]', 'releases: [base, slow]'));
    writeFileSync(join(s.dir, 'templates/debian/slow.Dockerfile.eta'), `ARG <%= it.parent_arg %>\nFROM \${<%= it.parent_arg %>}\nRUN echo slow-start ${tag} && sleep 30 && echo slow-done > /slow\n`);
    const args = ['build', s.manifest, '--all', ...ONE, '--output', s.generated, '--json'];
    const engineEnv = { DOCKER_HOST: e.privateEngine, ...creds(e) };
    const slowLog = join(s.generated, 'offline-app', '.logs', 'build_offline-app_bookworm_slow_py3.11_amd64.log');
    const { child, out, exited } = await runUntil(args, engineEnv, slowStarted(slowLog), 'the slow build');
    try {
      privateEngine('stop');
      const code = await exited;
      expect(code, out.stderr.slice(-2000)).toBe(1);
      expect(out.stderr).toContain(`the Docker engine at ${e.privateEngine} stopped responding during the run`);
      const rows = json(out.stdout);
      expect(rows.find((x) => x.id === 'build:offline-app/bookworm/base/py3.11/amd64')!.status).toBe('built');
      expect(rows.find((x) => x.id === 'build:offline-app/bookworm/slow/py3.11/amd64')!.status).toBe('failed');
      const state = JSON.parse(readFileSync(join(s.generated, 'offline-app', '.manager', 'state.json'), 'utf8')) as { tasks: Record<string, unknown> };
      expect(state.tasks['build:offline-app/bookworm/base/py3.11/amd64']).toBeDefined();
      expect(state.tasks['build:offline-app/bookworm/slow/py3.11/amd64']).toBeUndefined();
    } finally {
      child.kill('SIGKILL');
      privateEngine('start');
    }
    const rerun = cli([...args, '--timeout', '300'], { env: engineEnv });
    expect(rerun.code, rerun.stderr.slice(-1500)).toBe(0);
    const again = json(rerun.stdout);
    expect(again.find((x) => x.id === 'build:offline-app/bookworm/base/py3.11/amd64')).toMatchObject({ status: 'skipped', reason: 'unchanged since the last run' });
    expect(again.find((x) => x.id === 'build:offline-app/bookworm/slow/py3.11/amd64')!.status).toBe('built');
  });

  it('SIGINT mid-build: running builds cancelled, no child left, state intact, rerun redoes only unfinished work', async () => {
    // With a test on the slow image: a task that cannot have started when the interrupt came.
    const s = slowSpec(e, `${ns}-int`, 40, 'slow-done');
    const slowLog = join(s.generated, 'e2e-app', '.logs', 'build_e2e-app_bookworm_slow_py3.11_amd64.log');
    const { child, out, exited } = await runUntil(['build', s.manifest, '--all', ...ONE, '--output', s.generated, '--json'], creds(e), slowStarted(slowLog), 'the slow build');
    child.kill('SIGINT');
    const code = await exited;
    expect(code).toBe(130);
    const rows = json(out.stdout);
    // Running when interrupted: cancelled, with its true time; waiting: not started; nothing "failed".
    const slow = rows.find((x) => x.id === 'build:e2e-app/bookworm/slow/py3.11/amd64')!;
    expect(slow).toMatchObject({ status: 'cancelled', reason: 'cancelled while running' });
    expect(slow.durationMs).toBeGreaterThan(500);
    expect(rows.find((x) => x.id === 'test:e2e-app/bookworm/slow/py3.11/amd64')).toMatchObject({ status: 'not-started', reason: 'not started: interrupted by SIGINT' });
    expect(rows.filter((x) => x.status === 'failed' || x.status === 'blocked')).toEqual([]);
    expect(out.stderr).not.toMatch(/FAILED/);
    const ps = spawnSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).stdout;
    expect(ps.split('\n').filter((l) => l.includes(`${ns}-int`))).toEqual([]);
    const state = JSON.parse(readFileSync(join(s.generated, 'e2e-app', '.manager', 'state.json'), 'utf8')) as { tasks: Record<string, unknown> };
    expect(state.tasks['build:e2e-app/bookworm/base/py3.11/amd64']).toBeDefined();
    expect(state.tasks['build:e2e-app/bookworm/slow/py3.11/amd64']).toBeUndefined();
    const finished = rows.filter((x) => x.status === 'built').map((x) => x.id);
    const rerun = cli(['build', s.manifest, '--all', ...ONE, '--output', s.generated, '--json', '--timeout', '300'], { env: creds(e) });
    expect(rerun.code, rerun.stderr.slice(-1500)).toBe(0);
    const again = json(rerun.stdout);
    for (const id of finished) expect(again.find((x) => x.id === id)!.status, id).toBe('skipped');
    expect(again.find((x) => x.id === 'build:e2e-app/bookworm/slow/py3.11/amd64')!.status).toBe('built');
  });

  it('SIGTERM mid-build (what CI runners and `docker stop` send): exit 143, builds cancelled, no child left, state and generated tree intact', async () => {
    const s = slowSpec(e, `${ns}-term`, 40);
    const pkgDir = join(s.generated, 'e2e-app');
    const slowLog = join(pkgDir, '.logs', 'build_e2e-app_bookworm_slow_py3.11_amd64.log');
    const { child, out, exited } = await runUntil(['build', s.manifest, '--all', ...ONE, '--output', s.generated, '--json'], creds(e), slowStarted(slowLog), 'the slow build');
    child.kill('SIGTERM');
    expect(await exited).toBe(143);
    expect(out.stderr).toMatch(/received SIGTERM: cancelling running builds/);
    expect(json(out.stdout).find((x) => x.id === 'build:e2e-app/bookworm/slow/py3.11/amd64')!.status).toBe('cancelled');
    const ps = spawnSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).stdout;
    expect(ps.split('\n').filter((l) => l.includes(`${ns}-term`))).toEqual([]);
    const state = JSON.parse(readFileSync(join(pkgDir, '.manager', 'state.json'), 'utf8')) as { tasks: Record<string, unknown> };
    expect(state.tasks['build:e2e-app/bookworm/base/py3.11/amd64']).toBeDefined();
    expect(state.tasks['build:e2e-app/bookworm/slow/py3.11/amd64']).toBeUndefined();
    for (const release of ['base', 'runtime', 'devel', 'slow']) expect(existsSync(join(pkgDir, 'bookworm', release, 'Dockerfile')), release).toBe(true);
  });

  it('a build past its timeout is killed and reported as timed out', () => {
    const s = slowSpec(e, `${ns}-timeout`, 120);
    const started = Date.now();
    const r = cli(['build', s.manifest, '--releases', 'slow', ...ONE, '--output', s.generated, '--json', '--timeout', '8'], { env: creds(e) });
    expect(r.code).toBe(1);
    expect(Date.now() - started).toBeLessThan(100_000);
    const row = json(r.stdout).find((x) => x.id === 'build:e2e-app/bookworm/slow/py3.11/amd64')!;
    expect(row).toMatchObject({ status: 'timed-out' });
    expect(row.reason).toMatch(/^timed out after \d+s$/);
  });

  it('a failing image test blocks the publication of that image', () => {
    const s = slowSpec(e, `${ns}-test`, 1, 'something-else');
    const r = cli(['build', s.manifest, '--releases', 'slow', ...ONE, '--output', s.generated, '--json', '--keep-going'], { env: creds(e) });
    expect(r.code).toBe(1);
    const rows = json(r.stdout);
    expect(rows.find((x) => x.id === 'test:e2e-app/bookworm/slow/py3.11/amd64')).toMatchObject({ status: 'failed', reason: expect.stringMatching(/^test "marker" output did not match \/something-else\/: slow-done/) });
    // With --platforms only part of the image's platforms is selected, so no manifest at all;
    // select both platforms to see the manifest blocked.
    const both = cli(['build', s.manifest, '--releases', 'slow', '--python-version', '3.11', '--output', s.generated, '--json', '--keep-going'], { env: creds(e) });
    expect(json(both.stdout).find((x) => x.id === 'manifest:e2e-app/bookworm/slow/py3.11')).toMatchObject({ status: 'blocked', reason: 'dependency test:e2e-app/bookworm/slow/py3.11/amd64 failed' });
    expect(docker(['buildx', 'imagetools', 'inspect', `${e.registry}/${ns}-test/e2e-app:slow-python3.11`]).code).not.toBe(0);
  });
});

describe('crashes and full disks', () => {
  const e = env;
  const ns = `crash-${Date.now().toString(36)}`;

  it('the registry killed mid-run (SIGKILL by its pid) and started again: nothing lost, the rerun pushes only what was missing', async () => {
    const reg = await ownRegistry();
    try {
      const ns = `${Date.now().toString(36)}-crash`;
      expect(docker(['buildx', 'imagetools', 'create', '-t', `${reg.host}/${ns}/base:bookworm`, e.baseImage]).code).toBe(0);
      const s = e2eSpec(e, ns, 'offline');
      writeFileSync(s.manifest, readFileSync(s.manifest, 'utf8').replaceAll(e.registry, reg.host).replace('credentials: { username_env: E2E_REGISTRY_USER, password_env: E2E_REGISTRY_PASSWORD }', '').replace(`image: "${reg.host}/e2e/debian:bookworm"`, `image: "${reg.host}/${ns}/base:bookworm"`));
      const stateFile = join(s.generated, 'offline-app', '.manager', 'state.json');
      const recorded = () => (existsSync(stateFile) ? Object.keys((JSON.parse(readFileSync(stateFile, 'utf8')) as { tasks: object }).tasks).filter((id) => id.startsWith('build:')) : []);
      const args = ['build', s.manifest, '--all', '--multi-platform', 'split', '--output', s.generated, '--json', '--keep-going'];
      // Kill it once the first images are pushed and recorded, while the rest are on their way.
      const { child, out, exited } = await runUntil(args, {}, () => recorded().length >= 2, 'the first pushes');
      await reg.kill();
      const code = await exited;
      child.kill('SIGKILL');
      expect(code, out.stderr.slice(-2000)).toBe(1);
      const first = json(out.stdout);
      const pushed = first.filter((x) => x.kind === 'build' && x.status === 'built').map((x) => x.id).sort();
      const notPushed = first.filter((x) => x.kind === 'build' && x.status !== 'built').map((x) => x.id).sort();
      expect(pushed.length).toBeGreaterThanOrEqual(2);
      expect(notPushed.length).toBeGreaterThan(0);
      // Lookups against the dead registry fail the tasks; they are never read as "absent".
      expect(first.some((x) => x.status === 'failed' && /registry lookup failed|exited/.test(x.reason ?? ''))).toBe(true);
      await reg.start();
      const rerun = cli(args, {});
      expect(rerun.code, rerun.stderr.slice(-2000)).toBe(0);
      const again = json(rerun.stdout);
      expect(again.filter((x) => x.kind === 'build' && x.status === 'built').map((x) => x.id).sort()).toEqual(notPushed);
      for (const id of pushed) expect(again.find((x) => x.id === id)!.status, id).toBe('skipped');
      expect(docker(['buildx', 'imagetools', 'inspect', `${reg.host}/${ns}/offline-app:devel-python3.9-bookworm`]).code).toBe(0);
    } finally {
      await reg.kill();
    }
  });

  it('a dead registry at lookup time: each task fails with the refused connection as its cause, and nothing is built', async () => {
    const reg = await ownRegistry();
    const ns = `${Date.now().toString(36)}-dead`;
    const s = e2eSpec(e, ns, 'offline');
    writeFileSync(s.manifest, readFileSync(s.manifest, 'utf8').replace(`host: "${e.registry}"`, `host: "${reg.host}"`).replace('credentials: { username_env: E2E_REGISTRY_USER, password_env: E2E_REGISTRY_PASSWORD }', ''));
    await reg.kill();
    const r = cli(['build', s.manifest, '--releases', 'base', '--python-version', '3.11', '--output', s.generated, '--json'], {});
    expect(r.code).toBe(1);
    const rows = json(r.stdout);
    expect(rows.filter((x) => x.status === 'built')).toEqual([]);
    const builds = rows.filter((x) => x.kind === 'build');
    expect(builds.length).toBeGreaterThan(0);
    for (const b of builds) {
      expect(b.status, b.id).toBe('failed');
      expect(b.reason, b.id).toMatch(/^registry lookup failed: /);
      expect(b.cause, b.id).toMatch(/connection refused|ECONNREFUSED/);
    }
    // No build started: its log would exist.
    expect(existsSync(join(s.generated, 'offline-app', '.logs', 'build_offline-app_bookworm_base_py3.11_amd64.log'))).toBe(false);
    // The human summary says the same: status, cause, and the outcome first.
    const human = cli(['build', s.manifest, '--releases', 'base', '--python-version', '3.11', '--output', s.generated], {});
    expect(human.code).toBe(1);
    expect(human.stdout).toMatch(/✖ failed\s+build:offline-app\/bookworm\/base\/py3\.11\/amd64 .*registry lookup failed: .*(connection refused|ECONNREFUSED)/);
    expect(human.stdout).toMatch(/^✖ failed: 0 built, 0 ran, \d+ skipped, \d+ failed, 0 cancelled, \d+ blocked, \d+ not started$/m);
    // Progress is stderr's, and its group line fails with the run: no ✔ over a failed run.
    expect(human.stdout).not.toMatch(/❯|\[SKIPPED/);
    expect(human.stderr).toMatch(/✖ offline-app: 0 running, 0 done, \d+ skipped, 2 failed \(of \d+\): 2 tasks failed/);
    expect(human.stderr).not.toMatch(/✔ offline-app/);
    // --progress json: one event per line on stderr, the result document alone on stdout.
    const ev = cli(['build', s.manifest, '--releases', 'base', '--python-version', '3.11', '--output', s.generated, '--json', '--progress', 'json'], {});
    expect(ev.code).toBe(1);
    expect(json(ev.stdout).length).toBe(rows.length);
    const events = ev.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { event: string; id: string; status?: string; cause?: string });
    const amd = events.filter((x) => x.id === 'build:offline-app/bookworm/base/py3.11/amd64');
    expect(amd.map((x) => x.event)).toEqual(['started', 'finished']);
    expect(amd[1]).toMatchObject({ status: 'failed', cause: expect.stringMatching(/ECONNREFUSED|connection refused/) });
    expect(events.filter((x) => x.event === 'finished').length).toBe(rows.length);
  });

  it('SIGKILL of manager mid-run: the next run takes over the dead run\'s lock and completes', async () => {
    const s = slowSpec(e, `${ns}-kill9`, 20);
    const slowLog = join(s.generated, 'e2e-app', '.logs', 'build_e2e-app_bookworm_slow_py3.11_amd64.log');
    const { child, exited } = await runUntil(['build', s.manifest, '--all', ...ONE, '--output', s.generated, '--json'], creds(e), slowStarted(slowLog), 'the slow build');
    child.kill('SIGKILL');
    await exited;
    const lock = join(s.generated, 'e2e-app', '.manager', 'lock');
    expect(JSON.parse(readFileSync(lock, 'utf8')).pid).toBe(child.pid);
    const rerun = cli(['build', s.manifest, '--all', ...ONE, '--output', s.generated, '--json', '--timeout', '300'], { env: creds(e) });
    expect(rerun.code, rerun.stderr.slice(-1500)).toBe(0);
    expect(rerun.stderr).toContain(`taking over a stale lock left by pid ${child.pid}`);
    expect(json(rerun.stdout).find((x) => x.id === 'build:e2e-app/bookworm/slow/py3.11/amd64')!.status).toMatch(/^(built|skipped)$/);
    expect(existsSync(lock)).toBe(false);
  });

  it('the disk fills up while generate writes the tree: the old tree stays as it was, nothing half-written, no temporaries left', () => {
    const mnt = join(tempDir(), 'small');
    mkdirSync(mnt);
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=512k', 'tmpfs', mnt], { encoding: 'utf8' });
    expect(mounted.status, mounted.stderr).toBe(0);
    try {
      const root = tempDir();
      cpSync(join(REPO, 'examples'), join(root, 'examples'), { recursive: true });
      // A repository of its own: the shared specs.yaml is a base inside it.
      mkdirSync(join(root, '.git'));
      cpSync(join(REPO, 'templates'), join(root, 'templates'), { recursive: true });
      const manifest = join(root, 'examples', 'bento-server', 'manifest.yaml');
      const first = cli(['generate', manifest, '--output', mnt]);
      expect(first.code, first.stderr).toBe(0);
      const before = snapshot(mnt);
      // Every Dockerfile grows by 64 KiB: far more than the rest of the 512 KiB disk holds.
      const labels = join(root, 'templates', 'bento-server', 'partials', 'labels.eta');
      writeFileSync(labels, readFileSync(labels, 'utf8') + `# ${'x'.repeat(64 * 1024)}\n`);
      const full = cli(['generate', manifest, '--output', mnt]);
      expect(full.code, full.stderr).toBe(1);
      expect(full.stderr).toMatch(/could not write generated files under .*: ENOSPC/);
      expect(snapshot(mnt)).toEqual(before);
    } finally {
      spawnSync('umount', [mnt]);
    }
  });
});

/** Every file under a directory with its content, temporaries and staging included. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out[p.slice(dir.length)] = e.name === 'lock' ? '(lock)' : readFileSync(p, 'utf8');
    }
  };
  walk(dir);
  return out;
}

describe('registry faults (through a fault-injecting proxy on loopback)', () => {
  const e = env;

  const login = (host: string) => spawnSync('docker', ['login', host, '-u', e.user, '--password-stdin'], { input: e.password, encoding: 'utf8' });

  function proxiedSpec(host: string, ns: string) {
    const s = e2eSpec(e, ns);
    writeFileSync(s.manifest, readFileSync(s.manifest, 'utf8').replace(`host: "${e.registry}"`, `host: "${host}"`));
    return s;
  }

  it('429 on pushes and merges: retried with backoff, then the run succeeds; the rerun skips through the registry', async () => {
    // Every manifest path is refused once with 429: each build's push and each merge must retry.
    const proxy = await startFaultProxy(e.registry, [{ method: 'PUT', path: '/manifests/', status: 429, times: 1 }]);
    try {
      const loggedIn = login(proxy.host);
      expect(loggedIn.status, loggedIn.stderr).toBe(0);
      const s = proxiedSpec(proxy.host, `${Date.now().toString(36)}-flaky`);
      const r = cli(['build', s.manifest, '--releases', 'base', '--python-version', '3.11', '--output', s.generated, '--json'], { env: creds(e) });
      expect(r.code, r.stderr.slice(-2000)).toBe(0);
      expect(proxy.injected().filter((x) => x.status === 429).length).toBeGreaterThanOrEqual(3);
      expect(r.stderr).toMatch(/retry 1\/3 for the build:e2e-app\/bookworm\/base\/py3\.11\/(amd64|arm64v8) push in \d+ ms/);
      // The merge went through the same faults (buildx may absorb a 429 itself; if not, we retry).
      expect(proxy.injected().some((x) => x.status === 429 && x.path.endsWith('/manifests/base-python3.11-bookworm'))).toBe(true);
      expect(json(r.stdout).find((x) => x.id === 'manifest:e2e-app/bookworm/base/py3.11')!.status).toBe('ran');
      rmSync(join(s.generated, 'e2e-app', '.manager', 'state.json'));
      const again = cli(['build', s.manifest, '--releases', 'base', '--python-version', '3.11', '--output', s.generated, '--json'], { env: creds(e) });
      expect(again.code).toBe(0);
      expect(json(again.stdout).filter((x) => x.status !== 'skipped' && !x.id.startsWith('test:') && !x.id.startsWith('render:'))).toEqual([]);
    } finally {
      await proxy.close();
    }
  });

  it('a registry that keeps failing: bounded retries, then a clear failure and exit 1', async () => {
    const proxy = await startFaultProxy(e.registry, [{ method: 'PUT', path: '/manifests/', status: 500 }]);
    try {
      login(proxy.host);
      const s = proxiedSpec(proxy.host, `${Date.now().toString(36)}-down`);
      const r = cli(['build', s.manifest, '--releases', 'base', ...ONE, '--output', s.generated, '--json'], { env: creds(e) });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/retry 3\/3 for the build:e2e-app\/bookworm\/base\/py3\.11\/amd64 push/);
      const row = json(r.stdout).find((x) => x.id === 'build:e2e-app/bookworm/base/py3.11/amd64')!;
      expect(row).toMatchObject({ status: 'failed', reason: 'exited 1' });
      expect(proxy.injected().filter((x) => x.status === 500).length).toBe(4);
      // The cause is the registry's answer, and the task's time is all four tries and the waits between.
      expect(row.cause).toMatch(/500 Internal Server Error/);
      expect(row.attempts).toHaveLength(4);
      expect(row.attempts!.every((a) => a.exitCode === 1 && /500 Internal Server Error/.test(a.cause ?? ''))).toBe(true);
      expect(row.durationMs).toBeGreaterThan(row.attempts!.reduce((n, a) => n + a.durationMs, 0));
    } finally {
      await proxy.close();
    }
  });

  it('a registry that hangs: the build is killed at its timeout and reported, not waited on forever', async () => {
    const proxy = await startFaultProxy(e.registry, [{ method: 'PUT', path: '/manifests/', status: 0 }]);
    try {
      login(proxy.host);
      const s = proxiedSpec(proxy.host, `${Date.now().toString(36)}-hang`);
      const started = Date.now();
      const r = cli(['build', s.manifest, '--releases', 'base', ...ONE, '--output', s.generated, '--json', '--timeout', '25'], { env: creds(e) });
      expect(r.code).toBe(1);
      expect(Date.now() - started).toBeLessThan(120_000);
      expect(json(r.stdout).find((x) => x.id === 'build:e2e-app/bookworm/base/py3.11/amd64')).toMatchObject({ status: 'timed-out' });
    } finally {
      await proxy.close();
    }
  });

  it('the registry stopped mid-push and back a moment later: the run still succeeds', async () => {
    let proxy = await startFaultProxy(e.registry, []);
    const port = Number(proxy.host.split(':')[1]);
    login(proxy.host);
    const s = proxiedSpec(proxy.host, `${Date.now().toString(36)}-bounce`);
    let running: Awaited<ReturnType<typeof runUntil>> | undefined;
    try {
      // Stop the registry (as seen from the engine) as soon as the push starts.
      const pushing = () => proxy.injected().some((x) => x.method === 'POST' && /\/blobs\/uploads\//.test(x.path));
      running = await runUntil(['build', s.manifest, '--releases', 'base', ...ONE, '--output', s.generated, '--json'], creds(e), pushing, 'the push');
      const { out, exited } = running;
      await proxy.close();
      await new Promise((r) => setTimeout(r, 1500));
      proxy = await startFaultProxy(e.registry, [], port);
      // Whether the engine's own retries or ours carried it, the run must succeed.
      expect(await exited, out.stderr.slice(-2000)).toBe(0);
      expect(json(out.stdout).find((x) => x.id === 'build:e2e-app/bookworm/base/py3.11/amd64')).toMatchObject({ status: 'built' });
    } finally {
      running?.child.kill();
      await proxy.close();
    }
  });
});
