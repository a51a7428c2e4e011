// A hostile `docker` first on PATH prints every credential in sight, in every form, split across
// writes, on every command manager runs; each mode runs through the real CLI with credentials
// in the environment, in a .env and in docker's config.json. Then every output and every file
// the runs touched is swept for every form: none may survive.
import { chmodSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliAsync, type CliResult } from '../helpers/cli.ts';
import { startServer } from '../helpers/http.ts';
import { startFakeRegistry, type FakeRegistry } from '../helpers/oci-registry.ts';
import { MINI_TEMPLATES, tempDir, writeTree } from '../helpers/spec.ts';
import { leakedForms, secretForms as forms } from '../helpers/secret-forms.ts';

// Characters every encoding treats differently: JSON and Go escapes, URL userinfo, HTML, base64 alignment.
const ENV_USER = 'hostile-user';
const ENV_SECRET = 'Env<Pw>&"q\\ 9%@:/+é~x';
const DOTENV_USER = 'mirror-user';
const DOTENV_SECRET = "Dot&env+Pw/=<x>'7";
const CONFIG_USER = 'cfg-user';
const CONFIG_SECRET = 'Cfg"Only\\&Secret<42>';
const PAIRS = [
  { user: ENV_USER, secret: ENV_SECRET },
  { user: DOTENV_USER, secret: DOTENV_SECRET },
  { user: CONFIG_USER, secret: CONFIG_SECRET },
];

const leaks = (text: string) => leakedForms(text, PAIRS);

/** The fake docker: prints every form of every secret (split, with pauses), then behaves enough like docker for the run to go on. */
function fakeDocker(dir: string, secretsFile: string): void {
  const script = `#!${process.execPath}
const fs = require('node:fs');
const pairs = JSON.parse(fs.readFileSync(${JSON.stringify(secretsFile)}, 'utf8'));
const args = process.argv.slice(2);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function say(stream, text) {
  // Three writes a few milliseconds apart: the pipe delivers the secret in pieces.
  const a = Math.floor(text.length / 3), b = Math.floor((2 * text.length) / 3);
  for (const piece of [text.slice(0, a), text.slice(a, b), text.slice(b)]) {
    stream.write(piece);
    await sleep(3);
  }
}
(async () => {
  if (args[0] === 'login') await new Promise((r) => { process.stdin.on('data', () => {}); process.stdin.on('end', r); });
  for (const p of pairs) for (const [name, f] of Object.entries(p.forms)) {
    await say(process.stdout, '#5 0.1 ' + name + ' ' + f + '\\n');
    await say(process.stderr, name + '=' + f + ' ');
  }
  process.stderr.write('\\n');
  const meta = args.indexOf('--metadata-file');
  if (meta >= 0) {
    const digest = 'sha256:' + require('node:crypto').createHash('sha256').update(args.join(' ')).digest('hex');
    fs.writeFileSync(args[meta + 1], JSON.stringify({ 'containerimage.digest': digest, 'buildx.build.ref': pairs[0].forms.raw, 'image.name': pairs[0].forms.urlWithUserinfo }));
  }
  if (args[0] === 'buildx' && args[1] === 'inspect') {
    process.stdout.write('Name: hostile\\nDriver: docker-container\\nNodes:\\nName: hostile0\\nEndpoint: unix:///var/run/docker.sock\\nStatus: running\\nBuildKit version: v0.13.0\\nPlatforms: linux/amd64, linux/arm64\\n');
  }
  const fail = process.env.HOSTILE_FAIL === args.slice(0, 2).join(' ') || process.env.HOSTILE_FAIL === args[0];
  if (fail) process.stderr.write('ERROR: failed to solve: denied for ' + pairs[0].forms.raw + ' ' + pairs[1].forms.base64Pair + '\\n');
  process.exitCode = fail ? 1 : 0;
})();
`;
  const file = join(dir, 'docker');
  writeFileSync(file, script);
  chmodSync(file, 0o755);
}

function filesUnder(dir: string, skip: Set<string>): { path: string; content: string }[] {
  const out: { path: string; content: string }[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (skip.has(p)) continue;
    const st = statSync(p);
    if (st.isDirectory()) out.push(...filesUnder(p, skip));
    else if (st.isFile()) out.push({ path: p, content: readFileSync(p, 'latin1') + readFileSync(p, 'utf8') });
  }
  return out;
}

describe('a hostile docker echoing every credential in every form', () => {
  let root: string;
  let bin: string;
  let dockerConfig: string;
  let registry: FakeRegistry;
  let api: Awaited<ReturnType<typeof startServer>>;
  let env: Record<string, string>;
  const outputs: { mode: string; r: CliResult }[] = [];

  beforeAll(async () => {
    registry = await startFakeRegistry({ auth: 'basic', user: ENV_USER, password: ENV_SECRET });
    // A README API that answers with what it was sent: the Authorization header, the body.
    api = await startServer((req) => ({ status: 400, body: { message: `bad request from ${req.headers.authorization} ${Buffer.from(req.headers.authorization?.slice(6) ?? '', 'base64').toString()}` } }));
    for (const v of ['3.10', '3.11']) {
      registry.putManifest('library/python', v, JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [
        { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${'a'.repeat(63)}${v.at(-1)}`, size: 2, platform: { os: 'linux', architecture: 'amd64' } },
        { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${'b'.repeat(63)}${v.at(-1)}`, size: 2, platform: { os: 'linux', architecture: 'arm64' } },
      ] }), 'application/vnd.oci.image.index.v1+json');
    }
    const manifest = `package: mini
version: 1.2.3
templates: ./templates
python: ["3.10", "3.11"]
architectures:
  amd64: linux/amd64
  arm64v8: linux/arm64
releases:
  base:
    tags: ["base-python{python}-{distro}"]
  runtime:
    parent: base
    tags: ["{version}-python{python}-{alias}-runtime"]
    tests: [{ name: smoke, run: "true" }]
distros:
  deb:
    alias: d
    family: debian
    package_manager: apt
    image: ${registry.host}/library/python:{python}
    architectures: [amd64, arm64v8]
    releases: [base, runtime]
registries:
  local:
    kind: harbor
    host: ${registry.host}
    namespace: acme
    readme: true
    api: ${api.url}
    credentials: { username_env: HOSTILE_USER, password_env: HOSTILE_PASSWORD }
  mirror:
    kind: generic
    host: ${registry.host}
    namespace: mirror
    credentials: { username_env: MIRROR_USER, password_env: MIRROR_PASSWORD }
publish: [local, mirror]
`;
    // The base builds FROM the arg the lock's digest goes into: a locked root must (core/render/from-parent.ts).
    root = writeTree({ 'manifest.yaml': manifest, ...MINI_TEMPLATES, 'templates/debian/base.Dockerfile.eta': 'ARG PYTHON_VERSION\nARG <%= it.from.arg %>=<%= it.from.default %>\nFROM ${<%= it.from.arg %>}\nRUN echo base\n', '.env': `MIRROR_USER=${DOTENV_USER}\nMIRROR_PASSWORD='${DOTENV_SECRET}'\n` });
    chmodSync(join(root, '.env'), 0o600);
    bin = tempDir('manager-hostile-bin-');
    const secretsFile = join(bin, 'secrets.json');
    writeFileSync(secretsFile, JSON.stringify(PAIRS.map((p) => ({ forms: forms(p.user, p.secret) }))));
    fakeDocker(bin, secretsFile);
    dockerConfig = tempDir('manager-hostile-config-');
    writeFileSync(join(dockerConfig, 'config.json'), JSON.stringify({ auths: {
      [registry.host]: { auth: Buffer.from(`${ENV_USER}:${ENV_SECRET}`).toString('base64') },
      'other.example': { auth: Buffer.from(`${CONFIG_USER}:${CONFIG_SECRET}`).toString('base64') },
    } }));
    mkdirSync(join(root, 'gh'), { recursive: true });
    writeFileSync(join(root, 'gh', 'output'), '');
    env = {
      PATH: `${bin}:${process.env['PATH']}`,
      DOCKER_CONFIG: dockerConfig,
      HOSTILE_USER: ENV_USER,
      HOSTILE_PASSWORD: ENV_SECRET,
      GITHUB_OUTPUT: join(root, 'gh', 'output'),
      MANAGER_ROOT: root,
    };
  }, 60_000);

  afterAll(async () => {
    await registry?.close();
    await api?.close();
    for (const d of [root, bin, dockerConfig]) if (d) rmSync(d, { recursive: true, force: true });
  });

  const modes: { mode: string; args: () => string[]; extraEnv?: Record<string, string>; code: number[] }[] = [
    { mode: 'lock', args: () => ['lock', join(root, 'manifest.yaml')], code: [0] },
    { mode: 'build (json, progress events, metadata file)', args: () => ['build', join(root, 'manifest.yaml'), '--all', '--json', '--progress', 'json', '--metadata-file', join(root, 'meta.json')], code: [0, 1] },
    { mode: 'build --authenticate (table)', args: () => ['build', join(root, 'manifest.yaml'), '--all', '--force', '--authenticate'], code: [0, 1] },
    { mode: 'build, every build failing', args: () => ['build', join(root, 'manifest.yaml'), '--all', '--force', '--json', '--metadata-file', join(root, 'meta-failed.json')], extraEnv: { HOSTILE_FAIL: 'buildx build' }, code: [1] },
    { mode: 'authenticate', args: () => ['authenticate', join(root, 'manifest.yaml')], code: [0] },
    { mode: 'authenticate, login refused', args: () => ['authenticate', join(root, 'manifest.yaml'), '--json'], extraEnv: { HOSTILE_FAIL: 'login' }, code: [1] },
    { mode: 'push-readme', args: () => ['push-readme', join(root, 'manifest.yaml'), '--json'], code: [0, 1] },
    { mode: 'prune', args: () => ['prune', join(root, 'manifest.yaml'), '--older-than', '0s', '--yes', '--json'], code: [0, 1] },
    { mode: 'ci matrix', args: () => ['ci', 'matrix', join(root, 'manifest.yaml'), '--all'], code: [0] },
    { mode: 'ci matrix --github-output', args: () => ['ci', 'matrix', join(root, 'manifest.yaml'), '--all', '--github-output', '--json'], code: [0] },
  ];

  for (const m of modes) {
    it(`${m.mode}: nothing it prints holds a secret`, async () => {
      const r = await cliAsync(m.args(), { cwd: root, env: { ...env, ...m.extraEnv }, timeoutMs: 120_000 });
      outputs.push({ mode: m.mode, r });
      expect(m.code, `${m.mode} exited ${r.code}: ${r.stderr.slice(-1500)}`).toContain(r.code);
      expect(leaks(r.stdout), `${m.mode} stdout`).toEqual([]);
      expect(leaks(r.stderr), `${m.mode} stderr`).toEqual([]);
    }, 150_000);
  }

  it('the runs got as far as the hostile docker let them, so every sink was written', () => {
    const stderr = outputs.map((o) => o.r.stderr).join('\n');
    // The fake docker's output was seen (redacted), so the sweep is not vacuous.
    expect(stderr).toMatch(/base64Pair=\*\*\*/);
    const logs = readdirSync(join(root, 'generated', 'mini', '.logs'));
    expect(logs.some((f) => f.startsWith('build'))).toBe(true);
    const sweepable = filesUnder(root, new Set()).map((f) => f.path);
    for (const f of ['generated/mini/.manager/state.json', 'generated/mini/.manager/report.html', 'generated/mini/.manager/report.md', 'meta.json', 'meta-failed.json', 'manifest.lock.yaml']) {
      expect(sweepable.some((p) => p.endsWith(f)), f).toBe(true);
    }
    expect(readFileSync(join(root, 'gh', 'output'), 'utf8')).toMatch(/^matrix0=/m);
    // The hostile output reached the files, starred out: a build log, and the report (the README API's echo).
    const log = readFileSync(join(root, 'generated', 'mini', '.logs', logs.find((f) => f.startsWith('build'))!), 'utf8');
    expect(log).toMatch(/base64Pair \*\*\*/);
    expect(readFileSync(join(root, 'generated', 'mini', '.manager', 'report.html'), 'utf8')).toContain('Basic *** ***');
  });

  it('no file any run wrote holds a secret in any form', () => {
    // The credentials' own homes are not ours to sweep: the .env and docker's config.
    const files = filesUnder(root, new Set([join(root, '.env')]));
    const hits = files.flatMap((f) => leaks(f.content).map((l) => `${f.path}: ${l}`));
    expect(hits).toEqual([]);
    expect(files.length).toBeGreaterThan(10);
  });
});
