// The design notes' own workflow, as written, in a repository laid out as BentoML's is:
// docker/manager/specs.yml, docker/manifest/bento-server.yml, docker/templates/, output in
// docker/generated/, credentials in .env at the root. Each command runs from a subdirectory,
// with no flags telling the tool where anything is. Then the notes' manual recipe, and the
// README push through a docker-pushrm plugin and through a registry's web API.
//
// The templates here are the test's own, installing only Debian packages: PyPI and NVIDIA's
// repositories cannot be reached from the test machines, so `bentoml` is a stand-in script
// that reports the version it stands for.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, cliAsync, type CliResult } from '../helpers/cli.ts';
import { docker, e2eEnv, idsOf as ids, taskRows } from '../helpers/e2e.ts';
import { startServer, type Recorded } from '../helpers/http.ts';
import { tempDir, writeTree } from '../helpers/spec.ts';

const env = e2eEnv();

describe('the design notes\' workflow in a BentoML-shaped repository', () => {
  const ns = `notes-${Date.now().toString(36)}`;
  const repoRef = `${env.registry}/${ns}/bento-server`;
  let repo = '';
  let dockerConfig = '';
  let hub: Awaited<ReturnType<typeof startServer>>;
  const hubRequests: Recorded[] = [];
  // Every command from inside the repository, as a maintainer would type it.
  const manager = (args: string[], extra: Record<string, string> = {}): CliResult =>
    cli(args, { cwd: join(repo, 'docker', 'templates'), env: { DOCKER_CONFIG: dockerConfig, ...extra }, timeoutMs: 10 * 60_000 });
  const dockerHere = (args: string[], cwd?: string) => docker(args, { env: { DOCKER_CONFIG: dockerConfig }, cwd });

  beforeAll(async () => {
    hub = await startServer((r) => {
      hubRequests.push(r);
      if (r.method === 'POST' && r.path === '/v2/users/login') return { status: 200, body: { token: 'jwt-notes' } };
      if (r.method === 'PATCH' && r.path === `/v2/repositories/${ns}-hub/bento-server/`) return { status: 200, body: {} };
      return undefined;
    });
    repo = tempDir('manager-e2e-notes-');
    // Beside the repository, not in it (its git status must stay the tool's own): a temp dir of
    // its own, removed with the others after the file.
    dockerConfig = tempDir('manager-e2e-notes-docker-config-');
    execFileSync('git', ['init', '-q', repo]);
    const tpl = 'docker/templates/bento-server/debian';
    writeTree({
      'docker/manager/specs.yml': [
        '# Shared specs (the notes\' docker/manager/specs.yml): every manifest builds on them.',
        'python: ["3.9", "3.11"]',
        'architectures: { amd64: linux/amd64 }',
        'releases:',
        '  base:',
        '    tags: ["base-python{python}-{distro}"]',
        '  runtime:',
        '    parent: base',
        '    tags: ["{version}-python{python}-{distro}-runtime", "{version}-python{python}-{alias}-runtime"]',
        'distros:',
        '  debian11:',
        '    alias: debian',
        '    family: debian',
        '    package_manager: apt',
        `    image: "${env.baseImage}"`,
        '    architectures: [amd64]',
        '    releases: [base, runtime]',
        'registries:',
        '  local:',
        '    kind: dockerhub',
        `    host: "${env.registry}"`,
        `    namespace: "${ns}"`,
        '    readme: true',
        '  hub:',
        '    kind: dockerhub',
        `    host: "${env.registry}"`,
        `    namespace: "${ns}-hub"`,
        `    api: "${hub.url}"`,
        '    readme: true',
        'build: { max_workers: 2, timeout: 900 }',
        '',
      ].join('\n'),
      'docker/manifest/bento-server.yml': [
        'package: bento-server',
        'version: 1.0.0a5',
        'releases:',
        '  base:',
        '    tests:',
        '      - { name: python, run: ["python", "--version"], expect: { output: "Python {python}" } }',
        '      - { name: tini-is-pid-1, run: ["cat", "/proc/1/cmdline"], entrypoint: image, expect: { output: "tini" } }',
        '  runtime:',
        '    build_args: { BENTOML_VERSION: "{version}" }',
        '    tests:',
        '      - { name: bentoml, run: "bentoml --version", expect: { output: "bentoml, version {version}" } }',
        '',
      ].join('\n'),
      [`${tpl}/base.Dockerfile.eta`]: [
        '<% for (const a of it.from.args) { -%>',
        'ARG <%= a %>',
        '<% } -%>',
        'ARG <%= it.from.arg %>=<%= it.from.default %>',
        'FROM ${<%= it.from.arg %>}',
        'ARG PYTHON_VERSION',
        '# Debian 12 packages CPython 3.11; PyPy 3 provides Python 3.9.',
        'RUN set -eu; \\',
        '    case "${PYTHON_VERSION}" in 3.11) pkg=python3.11-minimal; bin=python3.11 ;; 3.9) pkg=pypy3; bin=pypy3 ;; *) exit 1 ;; esac; \\',
        '    apt-get update -qq; \\',
        '    apt-get install -y -qq --no-install-recommends "$pkg" tini >/dev/null; \\',
        '    ln -s "/usr/bin/$bin" /usr/local/bin/python; \\',
        '    rm -rf /var/lib/apt/lists/*',
        'ENTRYPOINT ["/usr/bin/tini", "--"]',
        '',
      ].join('\n'),
      [`${tpl}/runtime.Dockerfile.eta`]: [
        '<% for (const a of it.from.args) { -%>',
        'ARG <%= a %>',
        '<% } -%>',
        'ARG <%= it.from.arg %><%= it.from.default ? "=" + it.from.default : "" %>',
        'FROM ${<%= it.from.arg %>}',
        '<% for (const a of it.build_args) { -%>',
        'ARG <%= a %><%= Object.hasOwn(it.build_arg_defaults, a) ? "=" + it.build_arg_defaults[a] : "" %>',
        '<% } -%>',
        '# A stand-in for `pip install bentoml==${BENTOML_VERSION}`: PyPI is out of reach here.',
        'RUN printf \'#!/bin/sh\\necho "bentoml, version %s"\\n\' "${BENTOML_VERSION}" > /usr/local/bin/bentoml && chmod +x /usr/local/bin/bentoml',
        '',
      ].join('\n'),
    }, repo);
    writeFileSync(join(repo, '.env'), `DOCKER_USER=${env.user}\nDOCKER_PASSWORD=${env.password}\n`, { mode: 0o600 });
    mkdirSync(join(repo, 'docker', 'templates'), { recursive: true });
  });

  afterAll(async () => {
    await hub?.close();
  });

  it('generate bento-server --target_version 1.0.0a5: the notes\' tree in docker/generated, saying which layout it found', () => {
    const r = manager(['generate', 'bento-server', '--target_version', '1.0.0a5']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`layout: design notes (docker/) at ${repo} (shared spec docker/manager/specs.yml); output to docker/generated/`);
    const out = join(repo, 'docker', 'generated', 'bento-server');
    for (const f of ['README.md', 'versions', 'debian11/base/Dockerfile', 'debian11/runtime/Dockerfile']) expect(existsSync(join(out, f)), f).toBe(true);
    expect(readFileSync(join(out, 'versions'), 'utf8')).toBe('1.0.0a5\n');
    // Built by hand, the runtime image comes FROM the published base.
    expect(readFileSync(join(out, 'debian11/runtime/Dockerfile'), 'utf8')).toMatch(new RegExp(`^ARG PYTHON_VERSION\\nARG BASE_IMAGE=${repoRef.replace(/[.]/g, '\\.')}:base-python\\$\\{PYTHON_VERSION\\}-debian11\\nFROM \\$\\{BASE_IMAGE\\}\\nARG BENTOML_VERSION=1\\.0\\.0a5\\n`));
  });

  it('create_context --validate bento-server: dockerfiles.json and images.json, kept current by later generates', () => {
    const r = manager(['create_context', '--validate', 'bento-server']);
    expect(r.code, r.stderr).toBe(0);
    const out = join(repo, 'docker', 'generated', 'bento-server');
    const images = JSON.parse(readFileSync(join(out, 'images.json'), 'utf8')) as { id: string; tags: string[] }[];
    expect(images.map((i) => i.id)).toContain('manifest:bento-server/debian11/runtime/py3.9');
    expect(images.find((i) => i.id === 'manifest:bento-server/debian11/runtime/py3.9')!.tags).toEqual(['1.0.0a5-python3.9-debian11-runtime', '1.0.0a5-python3.9-debian-runtime']);
    // A version change through generate alone rewrites the metadata it wrote.
    expect(manager(['generate', 'bento-server', '--target_version', '1.0.0a6']).code).toBe(0);
    expect(readFileSync(join(out, 'images.json'), 'utf8')).toContain('1.0.0a6-python3.9-debian11-runtime');
    expect(manager(['generate', 'bento-server', '--target_version', '1.0.0a5']).code).toBe(0);
    expect(readFileSync(join(out, 'images.json'), 'utf8')).not.toContain('1.0.0a6');
  });

  it('authenticate bento-server --registry local: logs in with DOCKER_USER and DOCKER_PASSWORD from the root .env', () => {
    const r = manager(['authenticate', 'bento-server', '--registry', 'local']);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(dockerConfig, 'config.json'), 'utf8')).toContain(env.registry);
    expect(r.stdout + r.stderr).not.toContain(env.password);
  });

  it('build bento-server --releases runtime --python_version 3.9 --distros debian11: that chain, built, tested, published', () => {
    const r = manager(['build', 'bento-server', '--releases', 'runtime', '--python_version', '3.9', '--distros', 'debian11', '--json']);
    const rows = taskRows(r.stdout, r.stderr);
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    expect(ids(rows, 'build', 'built')).toEqual(['build:bento-server/debian11/base/py3.9/amd64', 'build:bento-server/debian11/runtime/py3.9/amd64']);
    // The selection is the runtime images (and what they build FROM): their tests, not the base's.
    expect(ids(rows, 'test', 'ran')).toEqual(['test:bento-server/debian11/runtime/py3.9/amd64']);
    expect(ids(rows, 'manifest', 'ran')).toEqual(['manifest:bento-server/debian11/runtime/py3.9']);
    const run = dockerHere(['run', '--rm', '--pull', 'always', `${repoRef}:1.0.0a5-python3.9-debian-runtime`, 'bentoml', '--version']);
    expect(run.stdout.trim(), run.stderr).toBe('bentoml, version 1.0.0a5');
  });

  it('containerize-compatible: the runtime runs tini as PID 1 as root, and a service image made as `bentoml containerize` makes one builds FROM it and runs as its user', () => {
    const runtime = `${repoRef}:1.0.0a5-python3.9-debian-runtime`;
    const root = dockerHere(['run', '--rm', runtime, 'sh', '-c', 'id -u; tr "\\0" " " </proc/1/cmdline']);
    expect(root.code, root.stderr).toBe(0);
    expect(root.stdout).toMatch(/^0\n\S*tini -- sh -c /);
    // BentoML's containerize steps, as its Dockerfile template ran them: group and user 1034
    // created as root on top of the base, the bento copied in, then that user and a command.
    const dir = writeTree({
      'bento.txt': 'a bento\n',
      Dockerfile: [
        `FROM ${runtime}`,
        'ARG BENTO_USER=bentoml BENTO_USER_UID=1034 BENTO_USER_GID=1034',
        'RUN groupadd -g $BENTO_USER_GID -o $BENTO_USER && useradd -m -u $BENTO_USER_UID -g $BENTO_USER_GID -o -r $BENTO_USER',
        'COPY --chown=bentoml:bentoml bento.txt /home/bentoml/bento/bento.txt',
        'WORKDIR /home/bentoml/bento',
        'USER bentoml',
        'CMD ["sh", "-c", "id -un; cat bento.txt; bentoml --version"]',
        '',
      ].join('\n'),
    }, tempDir('service-'));
    const tag = `service-${Date.now().toString(36)}:test`;
    const built = dockerHere(['build', '-q', '-t', tag, '.'], dir);
    expect(built.code, built.stderr.slice(-2000)).toBe(0);
    try {
      const served = dockerHere(['run', '--rm', tag]);
      expect(served.code, served.stderr).toBe(0);
      expect(served.stdout).toBe('bentoml\na bento\nbentoml, version 1.0.0a5\n');
    } finally {
      dockerHere(['image', 'rm', '-f', tag]);
    }
  });

  it('the notes\' manual recipe builds the same chain by hand, the runtime FROM the base it just pushed', () => {
    const dir = join(repo, 'docker', 'generated', 'bento-server');
    const version = readFileSync(join(dir, 'versions'), 'utf8').trim();
    const [py, distro] = ['3.9', 'debian11'];
    const base = dockerHere(['buildx', 'build', '--push', '--platform', 'linux/amd64', '--build-arg', `PYTHON_VERSION=${py}`, '-t', `${repoRef}:base-python${py}-${distro}`, `${distro}/base`], dir);
    expect(base.code, base.stderr.slice(-2000)).toBe(0);
    const runtime = dockerHere(['buildx', 'build', '--push', '--platform', 'linux/amd64', '--build-arg', `PYTHON_VERSION=${py}`, '-t', `${repoRef}:${version}-python${py}-${distro}-runtime`, `${distro}/runtime`], dir);
    expect(runtime.code, runtime.stderr.slice(-2000)).toBe(0);
    const run = dockerHere(['run', '--rm', '--pull', 'always', `${repoRef}:${version}-python${py}-${distro}-runtime`, 'sh', '-c', 'bentoml --version; python --version']);
    expect(run.stdout, run.stderr).toMatch(/^bentoml, version 1\.0\.0a5\nPython 3\.9\./);
  });

  it('push-readme: through a docker-pushrm plugin when one is installed, through the registry API otherwise', async () => {
    // A stand-in plugin, found as the docker CLI finds plugins, that records what it is asked.
    const plugins = join(dockerConfig, 'cli-plugins');
    mkdirSync(plugins, { recursive: true });
    const log = join(tempDir('manager-e2e-notes-pushrm-'), 'pushrm.log');
    writeFileSync(join(plugins, 'docker-pushrm'), [
      '#!/bin/sh',
      'if [ "$1" = docker-cli-plugin-metadata ]; then echo \'{"SchemaVersion":"0.1.0","Vendor":"test","Version":"v0.0.0-stand-in","ShortDescription":"records README pushes"}\'; exit 0; fi',
      'shift',
      `echo "args: $*" >> ${log}`,
      'while [ $# -gt 0 ]; do if [ "$1" = --file ]; then cat "$2" >> ' + log + '; fi; shift; done',
      '',
    ].join('\n'));
    chmodSync(join(plugins, 'docker-pushrm'), 0o755);
    // Not blocking this process: the web API stand-in must answer while the CLI runs.
    const withPlugin = await cliAsync(['push-readme', 'bento-server'], { cwd: join(repo, 'docker', 'templates'), env: { DOCKER_CONFIG: dockerConfig } });
    expect(withPlugin.code, withPlugin.stderr).toBe(0);
    const recorded = readFileSync(log, 'utf8');
    expect(recorded).toContain(`args: --file `);
    expect(recorded).toContain(`--provider dockerhub ${repoRef}`);
    expect(recorded).toContain('# bento-server');
    // The registry with its own API endpoint goes through that API: login, then the description.
    expect(hubRequests.map((q) => [q.method, q.path])).toEqual([['POST', '/v2/users/login'], ['PATCH', `/v2/repositories/${ns}-hub/bento-server/`]]);
    expect((JSON.parse(hubRequests[1]!.body) as { full_description: string }).full_description).toMatch(/^# bento-server\n/);
    // No plugin: the tool says so and takes Docker Hub's API (which this machine cannot reach).
    rmSync(join(plugins, 'docker-pushrm'));
    const without = manager(['push-readme', 'bento-server', '--registry', 'local']);
    expect(without.stderr).toMatch(/docker-pushrm is not installed \(no docker-pushrm in .*cli-plugins.*\); pushing READMEs through the registries' APIs/);
    expect(without.stderr).toMatch(/hub\.docker\.com/);
    expect(readFileSync(log, 'utf8')).toBe(recorded);
  });
});
