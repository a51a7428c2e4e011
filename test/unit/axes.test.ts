// Every dimension is an axis: a family with no Python, axes restricted per distro and per
// distro release, placeholders checked everywhere, selection and shards by any axis.
import { PassThrough } from 'node:stream';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { axisSelection } from '../../cli/selection.ts';
import { chainKey, ciMatrix, parseShardBy, shardSelection } from '../../core/views/ci.ts';
import type { Diagnostic } from '../../core/base/diagnostics.ts';
import { UsageError } from '../../core/base/errors.ts';
import { loadPlan, type Plan } from '../../core/plan/plan.ts';
import { selectTasks } from '../../core/plan/select.ts';
import type { BuildTask, TestTask } from '../../core/plan/task.ts';
import { loadSpec } from '../../core/load/validate.ts';
import { askAxes } from '../../tasks/init.ts';
import { BENTO_MANIFEST, planError, writeTree, lineOf } from '../helpers/spec.ts';

/** A database-client family: no Python; pg and flavor axes; alpine restricts both. */
const PG_SPEC = `package: pgc
version: "1.0"
templates: ./templates
architectures:
  amd64: linux/amd64
  arm64v8: linux/arm64
axes:
  pg:
    arg: PG_MAJOR
    values: ["17", "16", "15"]
  flavor:
    id: ""
    values: [slim, full]
releases:
  client:
    axes: [pg, flavor]
    tags:
      - "{pg}-{flavor}-{distro}"
      - { template: "{pg}-{distro}", when: { flavor: default } }
    tests:
      - name: version
        run: ["psql", "--version", "{pg}"]
        expect: { output: "psql \\\\(PostgreSQL\\\\) {pg}\\\\." }
      - name: shell
        run: "echo {flavor} \${HOME}"
  tools:
    parent: client
    tags: ["{pg}-{flavor}-{distro}-tools"]
distros:
  bookworm:
    family: debian
    package_manager: apt
    image: example/postgres:{pg}-bookworm
    architectures: [amd64, arm64v8]
    releases: [client, tools]
  alpine:
    family: alpine
    package_manager: apk
    image: example/alpine:3.20
    architectures: [amd64]
    axes: { pg: { exclude: ["15"] } }
    releases:
      client: {}
      tools: { axes: { flavor: [full] } }
registries:
  hub:
    kind: dockerhub
    namespace: acme
    readme: true
`;

const PG_TEMPLATES: Record<string, string> = {
  'templates/debian/client.Dockerfile.eta': '<% for (const a of it.axis_args) { -%>\nARG <%= a %>\n<% } -%>\nARG <%= it.from.arg %>=<%= it.from.default %>\nFROM ${<%= it.from.arg %>}\n',
  'templates/debian/tools.Dockerfile.eta': 'ARG <%= it.parent_arg %>\nFROM ${<%= it.parent_arg %>}\nRUN echo tools\n',
  'templates/alpine/client.Dockerfile.eta': 'ARG <%= it.from.arg %>=<%= it.from.default %>\nFROM ${<%= it.from.arg %>}\n',
  'templates/alpine/tools.Dockerfile.eta': 'ARG <%= it.parent_arg %>\nFROM ${<%= it.parent_arg %>}\n',
};

function pg(yaml = PG_SPEC): string {
  return join(writeTree({ 'manifest.yaml': yaml, ...PG_TEMPLATES }), 'manifest.yaml');
}

function errors(yaml: string): Diagnostic[] {
  const r = loadSpec(pg(yaml));
  expect(r.spec, 'spec should be rejected').toBeUndefined();
  return r.diagnostics.filter((d) => d.severity === 'error');
}


const builds = (plan: Plan, ids?: Set<string>) =>
  [...plan.tasks.values()].filter((t): t is BuildTask => t.kind === 'build' && (!ids || ids.has(t.id)));

describe('a family without Python', () => {
  const plan = loadPlan(pg());

  it('has no Python anywhere: ids, build args, variables, Dockerfiles, README', () => {
    expect(plan.variants.map((v) => v.key)).toEqual([
      'bookworm/client/pg17/slim', 'bookworm/client/pg17/full', 'bookworm/client/pg16/slim', 'bookworm/client/pg16/full',
      'bookworm/client/pg15/slim', 'bookworm/client/pg15/full',
      'bookworm/tools/pg17/slim', 'bookworm/tools/pg17/full', 'bookworm/tools/pg16/slim', 'bookworm/tools/pg16/full',
      'bookworm/tools/pg15/slim', 'bookworm/tools/pg15/full',
      'alpine/client/pg17/slim', 'alpine/client/pg17/full', 'alpine/client/pg16/slim', 'alpine/client/pg16/full',
      'alpine/tools/pg17/full', 'alpine/tools/pg16/full',
    ]);
    const b = plan.tasks.get('build:pgc/bookworm/client/pg16/full/arm64v8') as BuildTask;
    expect(b.buildArgs).toEqual({ PG_MAJOR: '16' });
    expect(b.axes).toEqual({ pg: '16', flavor: 'full' });
    expect(b.baseImage).toBe('example/postgres:16-bookworm');
    expect(plan.variants.every((v) => !('python' in v.vars) && !('PYTHON_VERSION' in v.buildArgs))).toBe(true);
    const render = plan.tasks.get('render:pgc/bookworm/client')!;
    expect(render.kind === 'render' && render.files[0]!.content).toBe('ARG PG_MAJOR\nARG BASE_IMAGE=example/postgres:${PG_MAJOR}-bookworm\nFROM ${BASE_IMAGE}\n');
    const readme = (plan.tasks.get('render:pgc/docs') as Extract<typeof render, { kind: 'render' }>).files[0]!.content;
    expect(readme).not.toMatch(/python/i);
    expect(readme).toContain('| tags | release | pg | flavor | platforms | pull |\n|------|---------|----|--------|-----------|------|\n');
    expect(readme).toContain('| `16-full-alpine` | client | 16 | full | linux/amd64 |');
    expect(readme).toContain('one Dockerfile for every platform and pg value and flavor value.\nBuild a chain from its root');
    // The chain by hand: the root, then the child FROM the root's published tag (its BASE_IMAGE default).
    expect(readme).toMatch(/docker buildx build --push --platform linux\/amd64,linux\/arm64 --build-arg PG_MAJOR=17 -t docker\.io\/acme\/pgc:17-slim-bookworm bookworm\/client\ndocker buildx build --push --platform linux\/amd64,linux\/arm64 --build-arg PG_MAJOR=17 -t docker\.io\/acme\/pgc:17-slim-bookworm-tools bookworm\/tools\n/);
  });

  it('tags use every axis and `when: default` means the first value', () => {
    const tags = Object.fromEntries(plan.variants.map((v) => [v.key, v.tags]));
    expect(tags['bookworm/client/pg17/slim']).toEqual(['17-slim-bookworm', '17-bookworm']);
    expect(tags['bookworm/client/pg17/full']).toEqual(['17-full-bookworm']);
    expect(tags['alpine/tools/pg16/full']).toEqual(['16-full-alpine-tools']);
  });

  it('restrictions: a distro excludes a value, a distro release keeps one, children inherit', () => {
    const spec = plan.spec;
    expect(spec.distros['alpine']!.axes).toEqual({ pg: ['17', '16'], flavor: ['slim', 'full'] });
    expect(spec.distros['alpine']!.releases['client']!.axes).toEqual({ pg: ['17', '16'], flavor: ['slim', 'full'] });
    expect(spec.distros['alpine']!.releases['tools']!.axes).toEqual({ pg: ['17', '16'], flavor: ['full'] });
  });

  it('axis values reach test commands and expected output (escaped), and `${…}` stays shell syntax', () => {
    const t = plan.tasks.get('test:pgc/bookworm/client/pg16/slim/amd64') as TestTask;
    expect(t.tests[0]!.run).toEqual(['psql', '--version', '16']);
    expect(t.tests[0]!.output).toBe('psql \\(PostgreSQL\\) 16\\.');
    expect(t.tests[1]!.run).toBe('echo slim ${HOME}');
  });

  it('chains and the CI matrix name the root\'s axis values by id', () => {
    const b = plan.tasks.get('build:pgc/bookworm/tools/pg16/full/arm64v8') as BuildTask;
    expect(chainKey(plan.spec, b)).toBe('bookworm pg16 full linux/arm64');
    const all = new Set(plan.tasks.keys());
    const m = ciMatrix(plan, all, all);
    expect(m.include).toHaveLength(12 * 2 / 2 + 4);
    expect(m.include.find((j) => j.name === 'alpine pg17 full linux/amd64')!.only.split(',')).toEqual([
      'build:pgc/alpine/client/pg17/full/amd64', 'build:pgc/alpine/tools/pg17/full/amd64', 'test:pgc/alpine/client/pg17/full/amd64',
    ]);
  });

  it('adding an axis value builds only the new images', () => {
    const more = loadPlan(pg(PG_SPEC.replace('values: ["17", "16", "15"]', 'values: ["18", "17", "16", "15"]')));
    const changed: string[] = [];
    for (const t of more.tasks.values()) {
      if (t.kind === 'render') continue;
      const before = plan.tasks.get(t.id);
      if (!before) {
        if (!/\/pg18\//.test(t.id) && t.kind !== 'readme') changed.push(`new ${t.id}`);
      } else if (before.hash.value !== t.hash.value && t.kind !== 'readme') changed.push(`changed ${t.id}`);
    }
    expect(changed).toEqual([]);
    expect([...more.tasks.keys()].filter((id) => id.includes('/pg18/')).length).toBeGreaterThan(0);
    // Rendered files are the same; only the directory's list of values moved.
    const files = (p: Plan) => [...p.tasks.values()].flatMap((t) => (t.kind === 'render' && t.dir ? t.files.map((f) => `${f.path}:${f.sha256}`) : []));
    expect(files(more)).toEqual(files(plan));
  });
});

describe('axis errors, each at its line, all in one pass', () => {
  it('a child cannot build a value its parent does not, and an emptied axis names release, distro and axis', () => {
    const yaml = PG_SPEC.replace('tools: { axes: { flavor: [full] } }', 'tools: { axes: { pg: ["15"], flavor: { exclude: [slim, full] } } }');
    const errs = errors(yaml);
    const line = lineOf(yaml, 'tools: { axes: { pg');
    expect(errs.map((e) => [e.line, e.message])).toEqual([
      [line, 'pg 15 is not built for parent release "client" on alpine (17, 16)'],
      [line, 'leaves release "tools" on distro alpine with no value of axis "flavor", so it (and every release building on it) would have no image'],
    ]);
  });

  it('a parent\'s restriction binds its children', () => {
    const yaml = PG_SPEC.replace('client: {}', 'client: { axes: { pg: ["17"] } }').replace('tools: { axes: { flavor: [full] } }', 'tools: { axes: { pg: ["16"] } }');
    const [e, ...rest] = errors(yaml);
    expect(rest).toEqual([]);
    expect(e).toMatchObject({ line: lineOf(yaml, 'tools: { axes: { pg'), message: 'pg 16 is not built for parent release "client" on alpine (17)' });
  });

  it('a distro restriction that empties an axis, or names no known value', () => {
    const yaml = PG_SPEC.replace('axes: { pg: { exclude: ["15"] } }', 'axes: { pg: [], flavor: [tiny] }');
    const errs = errors(yaml);
    const line = lineOf(yaml, 'axes: { pg: []');
    expect(errs.map((e) => [e.line, e.message])).toEqual(expect.arrayContaining([
      [line, 'leaves axis "pg" with no value on distro alpine, so none of its releases would have an image'],
      [line, '"tiny" is not a value of axis "flavor" (values: slim, full)'],
    ]));
  });

  it('a value that exists on no architecture the release builds leaves it with no image', () => {
    const yaml = PG_SPEC.replace('values: [slim, full]', 'values:\n      slim: { architectures: { arm64v8: {} } }\n      full: { architectures: { arm64v8: {} } }');
    const errs = planError(pg(yaml)).diagnostics.filter((d) => d.severity === 'error');
    expect(errs.map((e) => e.message)).toEqual([
      'release "client" on distro alpine has no image: no combination of pg (17, 16), flavor (slim, full) exists on its architectures (amd64)',
      'release "tools" on distro alpine has no image, because its parent release "client" has none there',
    ]);
    expect(errs[0]!.line).toBe(lineOf(yaml, '      client: {}'));
  });

  it('an unknown placeholder anywhere is an error, never left as text', () => {
    const yaml = PG_SPEC
      .replace('"{pg}-{flavor}-{distro}-tools"', '"{pg}-{falvor}-tools"')
      .replace('run: ["psql", "--version", "{pg}"]', 'run: ["psql", "--version", "{pgg}"]')
      .replace('{pg}\\\\."', '{major}\\\\."')
      .replace('run: "echo {flavor} ${HOME}"', 'run: "echo {flavour}"')
      .replace('image: example/alpine:3.20', 'image: example/alpine:{tag}')
      .replace('registries:', 'build:\n  cache: { type: registry, ref: "{registry}/cache:{distro}-{variant}" }\nregistries:')
      .replace('  tools:\n    parent: client', '  tools:\n    parent: client\n    build_args: { PGVER: "{pgv}" }');
    const errs = errors(yaml);
    const at = (needle: string) => lineOf(yaml, needle);
    expect(errs.map((e) => [e.line, e.message.replace(/ \(known.*$/, '')])).toEqual(expect.arrayContaining([
      [at('{falvor}'), 'tag template uses unknown variable {falvor}'],
      [at('{pgg}'), 'test command uses unknown variable {pgg}'],
      [at('{major}'), 'expected output uses unknown variable {major}'],
      [at('{flavour}'), 'test command uses unknown variable {flavour}'],
      [at('{tag}'), 'image uses unknown variable {tag}'],
      [at('{variant}'), 'cache ref uses unknown variable {variant}'],
      [at('{pgv}'), 'build arg PGVER uses unknown variable {pgv}'],
    ]));
    expect(errs).toHaveLength(7);
  });

  it('a distro image can use an axis only through its build arg, and only on roots that have the axis', () => {
    const yaml = PG_SPEC.replace('image: example/postgres:{pg}-bookworm', 'image: example/postgres:{pg}-{flavor}');
    const [e, ...rest] = errors(yaml);
    expect(rest).toEqual([]);
    expect(e!.message).toBe('image uses {flavor}, but axis "flavor" has no build arg to carry its value into the Dockerfile\'s FROM line; set axes.flavor.arg (or render: per-value or per-file)');
  });

  it('names: reserved axis names, python twice, python restricted without a python axis, an arg set twice', () => {
    const yaml = PG_SPEC
      .replace('axes:\n  pg:', 'python: ["3.12"]\naxes:\n  python: { values: ["3.11"] }\n  distro: { values: [x] }\n  pg:')
      .replace('    id: ""', '    id: ""\n    arg: PG_MAJOR')
      .replace('    architectures: [amd64]\n', '    architectures: [amd64]\n    python: ["3.12"]\n');
    const msgs = errors(yaml).map((e) => e.message);
    expect(msgs).toEqual(expect.arrayContaining([
      'axis "python" is defined twice: by the top-level `python:` list (its shorthand) and here; keep one',
      'axis name "distro" is taken by the built-in variable {distro}; rename the axis',
      'build arg PG_MAJOR already carries axis "pg"; each axis needs its own',
    ]));
    const noPython = errors(PG_SPEC.replace('    architectures: [amd64]\n', '    architectures: [amd64]\n    python: ["3.12"]\n'));
    expect(noPython.map((e) => e.message)).toEqual(['restricts the python axis, which this spec does not have (add a top-level `python:` list or an axis named python)']);
  });

  it('a spec build arg cannot also be an axis\'s arg', () => {
    const yaml = PG_SPEC.replace('  tools:\n    parent: client', '  tools:\n    parent: client\n    build_args: { PG_MAJOR: "x" }');
    const e = planError(pg(yaml)).diagnostics.find((d) => d.severity === 'error')!;
    expect(e).toMatchObject({ line: lineOf(yaml, 'PG_MAJOR: "x"'), message: 'build arg PG_MAJOR is set by axis "pg"; use {pg} elsewhere, or give the axis another arg' });
  });
});

describe('selecting by axis', () => {
  const plan = loadPlan(pg());

  it('--axis parses repeatable, comma-separated values; --python-version is axis python', () => {
    expect(axisSelection(['pg=15', '16', 'flavor=slim'], undefined)).toEqual({ pg: ['15', '16'], flavor: ['slim'] });
    expect(axisSelection(['pg=15', 'pg=16'], ['3.12'])).toEqual({ pg: ['15', '16'], python: ['3.12'] });
    expect(axisSelection(undefined, undefined)).toBeUndefined();
    expect(() => axisSelection(['16'], undefined)).toThrow(/bad --axis "16"/);
    expect(() => axisSelection(['pg='], undefined)).toThrow(/names no value/);
  });

  it('picks images by any axis, with what they build FROM', () => {
    const sel = selectTasks(plan, { axes: { pg: ['16'], flavor: ['full'] }, releases: ['tools'] });
    expect(builds(plan, sel).map((b) => b.id).sort()).toEqual([
      'build:pgc/alpine/client/pg16/full/amd64', 'build:pgc/alpine/tools/pg16/full/amd64',
      'build:pgc/bookworm/client/pg16/full/amd64', 'build:pgc/bookworm/client/pg16/full/arm64v8',
      'build:pgc/bookworm/tools/pg16/full/amd64', 'build:pgc/bookworm/tools/pg16/full/arm64v8',
    ]);
  });

  it('a selection that matches nothing names the selector and what exists', () => {
    expect(() => selectTasks(plan, { axes: { pg: ['15'] }, distros: ['alpine'] })).toThrow(new UsageError('the selection matches nothing: --distros alpine matches none of the images the other selectors pick (their distros: bookworm)'));
    const bento = loadPlan(BENTO_MANIFEST);
    expect(() => selectTasks(bento, { releases: ['cudnn'], distros: ['alpine3.14'] })).toThrow(/--releases cudnn matches none of the images the other selectors pick \(their releases: base, runtime, devel\)$/);
    expect(() => selectTasks(bento, { releases: ['cudnn'], axes: { python: ['3.7'] }, distros: ['ubi8'] })).toThrow(/--distros ubi8 matches none of the images the other selectors pick \(their distros: debian11, debian10\)$/);
  });

  it('refuses unknown axes and values, and --python-version where there is no Python', () => {
    expect(() => selectTasks(plan, { axes: { pgg: ['16'] } })).toThrow(new UsageError('unknown axis "pgg" (axes: pg, flavor)'));
    expect(() => selectTasks(plan, { axes: { pg: ['14'] } })).toThrow(/unknown value of axis pg "14" \(known: 17, 16, 15\)/);
    expect(() => selectTasks(plan, { axes: { python: ['3.12'] } })).toThrow(/no python axis/);
  });
});

describe('shards by distro or axis', () => {
  const plan = loadPlan(pg());
  const all = new Set(plan.tasks.keys());

  it('deal whole groups: every build in exactly one shard', () => {
    for (const by of ['chain', 'distro', 'axis:pg', 'axis:flavor']) {
      const shardBy = parseShardBy(by, plan.spec);
      const shards = [1, 2, 3].map((i) => builds(plan, shardSelection(plan, all, `${i}/3`, shardBy)).map((b) => b.id));
      const flat = shards.flat();
      expect(new Set(flat).size, by).toBe(flat.length);
      expect(flat.sort(), by).toEqual(builds(plan).map((b) => b.id).sort());
    }
    const byPg = [1, 2, 3].map((i) => new Set(builds(plan, shardSelection(plan, all, `${i}/3`, parseShardBy('axis:pg', plan.spec))).map((b) => b.axes['pg'])));
    expect(byPg.map((s) => [...s])).toEqual([['15'], ['16'], ['17']]);
    const byDistro = [1, 2].map((i) => new Set(builds(plan, shardSelection(plan, all, `${i}/2`, parseShardBy('distro', plan.spec))).map((b) => b.distro)));
    expect(byDistro.map((s) => [...s])).toEqual([['alpine'], ['bookworm']]);
  });

  it('refuse an axis the roots do not carry, and unknown forms', () => {
    const bento = loadPlan(BENTO_MANIFEST);
    expect(() => parseShardBy('axis:cuda', bento.spec)).toThrow(/root release base does not expand over it/);
    expect(parseShardBy('axis:python', bento.spec)).toEqual({ by: 'axis', axis: 'python' });
    expect(() => parseShardBy('release', plan.spec)).toThrow(/expected chain, distro or axis:NAME/);
    expect(() => parseShardBy('axis:nope', plan.spec)).toThrow(/unknown axis "nope"/);
  });
});

describe('init asks for axes on a terminal', () => {
  it('asks again after a bad answer and returns the words', async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    let said = '';
    output.on('data', (c: Buffer) => (said += c.toString()));
    const answer = askAxes(input, output);
    input.write('PG=1\n');
    input.write('pg=15,16 flavor=slim\n');
    expect(await answer).toEqual(['pg=15,16', 'flavor=slim']);
    expect(said).toMatch(/bad axis "PG=1"/);
    expect(said.match(/Axes of the family/g)).toHaveLength(2);
  });

  it('a blank answer or end of input means no axes', async () => {
    const input = new PassThrough();
    const answer = askAxes(input, new PassThrough());
    input.end('\n');
    expect(await answer).toEqual([]);
  });
});
