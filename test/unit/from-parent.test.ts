// A child really builds FROM its parent: the check on rendered Dockerfiles, the example
// families, and a child in NVIDIA's shape refused through the CLI.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DockerfileParser } from 'dockerfile-ast';
import { afterEach, describe, expect, it } from 'vitest';
import { fromArgVerdict, parseDockerfile } from '../../core/render/from-parent.ts';
import { loadPlan } from '../../core/plan/plan.ts';
import type { RenderTask } from '../../core/plan/task.ts';
import { cli } from '../helpers/cli.ts';
import { miniSpec, planError, REPO } from '../helpers/spec.ts';

const B = 'BASE_IMAGE';
const CONSUMES: Array<[string, string]> = [
  ['${ARG}', 'ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\n'],
  ['$ARG', 'ARG BASE_IMAGE\nFROM $BASE_IMAGE\n'],
  ['lower-case keywords, flags, AS', 'arg BASE_IMAGE\nfrom --platform=$BUILDPLATFORM ${BASE_IMAGE} as x\n'],
  ['a default', 'ARG BASE_IMAGE=debian:12\nFROM ${BASE_IMAGE}\n'],
  ['${ARG:-default}', 'ARG BASE_IMAGE\nFROM ${BASE_IMAGE:-debian}\n'],
  ['through another arg', 'ARG BASE_IMAGE\nARG X=${BASE_IMAGE}\nFROM ${X}\n'],
  ['through a quoted default in one ARG', 'ARG BASE_IMAGE X="$BASE_IMAGE"\nFROM $X\n'],
  ['a named stage, case-insensitive', 'ARG BASE_IMAGE\nFROM ${BASE_IMAGE} AS Build\nRUN x\nFROM build\n'],
  ['COPY --from another image', 'ARG BASE_IMAGE\nFROM debian AS tools\nFROM ${BASE_IMAGE}\nCOPY --from=tools /a /a\n'],
  ['continuations with comments and blank lines', 'ARG BASE_IMAGE\nFROM \\\n# a comment\n\n  ${BASE_IMAGE} \\\n  AS final\n'],
  ['the escape directive', '# escape=`\nARG BASE_IMAGE\nFROM `\n  ${BASE_IMAGE}\nRUN dir c:\\\n'],
  ['a heredoc whose body has FROM lines', 'ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nRUN <<EOF\nFROM debian\nEOF\nCOPY <<-"A" <<B /x\n\tFROM a\n\tA\nFROM b\nB\n'],
  ['a commented-out FROM last', 'ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\n# FROM debian\n'],
  ['a computed final stage name (bento-server CUDA)', 'ARG BASE_IMAGE\nARG CUDA_VERSION\nFROM ${BASE_IMAGE} AS cuda-11.6.2-amd64\nFROM ${BASE_IMAGE} AS cuda-11.7.1-arm64\nFROM cuda-${CUDA_VERSION}-${TARGETARCH}\n'],
];
const REFUSED: Array<[string, string, RegExp]> = [
  ['its own image', 'ARG BASE_IMAGE\nFROM debian\n', /names its base image itself \(debian\)/],
  ["NVIDIA's shape", 'ARG IMAGE_NAME\nFROM ${IMAGE_NAME}:base\n', /computed from \$\{IMAGE_NAME\}/],
  ['a suffix on the arg', 'ARG BASE_IMAGE\nFROM ${BASE_IMAGE}:base\n', /with more around it; the value of BASE_IMAGE is the full image reference/],
  ['another arg with a default', 'ARG BASE_IMAGE\nARG X=debian\nFROM ${X}\n', /\(debian\)/],
  ['the arg undeclared', 'FROM ${BASE_IMAGE}\n', /no ARG before the first FROM declares BASE_IMAGE/],
  ['the arg declared in a stage only', 'FROM debian AS a\nARG BASE_IMAGE\nFROM ${BASE_IMAGE}\n', /no ARG before the first FROM/],
  ['${ARG:+x}', 'ARG BASE_IMAGE\nFROM ${BASE_IMAGE:+debian}\n', /\(debian\)/],
  ['a default that depends on another build arg', 'ARG BASE_IMAGE\nARG X\nFROM ${X:-${BASE_IMAGE}}\n', /computed from \$\{X\}/],
  ['COPY --from is not ancestry', 'ARG BASE_IMAGE\nFROM ${BASE_IMAGE} AS b\nFROM debian\nCOPY --from=b / /\n', /\(debian\)/],
  ['a later FROM scratch', 'ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nFROM scratch\n', /\(scratch\)/],
  ['one matched stage on its own base', 'ARG BASE_IMAGE\nARG V\nFROM ${BASE_IMAGE} AS cuda-11-amd64\nFROM ubuntu AS cuda-12-arm64\nFROM cuda-${V}-${TARGETARCH}\n', /descends from `FROM ubuntu AS cuda-12-arm64`.*\(ubuntu\)/],
  ['a pattern matching no stage', 'ARG BASE_IMAGE\nARG V\nFROM ${BASE_IMAGE} AS gpu\nFROM cuda-${V}\n', /matches no earlier stage/],
];

describe('what a Dockerfile builds FROM', () => {
  it.each(CONSUMES)('consumes the arg: %s', (_, text) => {
    expect(fromArgVerdict(text, B)).toEqual({ consumes: true, failures: [] });
  });
  it.each(REFUSED)('does not consume the arg: %s', (_, text, reason) => {
    const v = fromArgVerdict(text, B);
    expect(v.consumes).toBe(false);
    expect(v.failures.map((f) => `${f.via.length ? `descends from \`${f.stage.text}\` ` : ''}${f.reason}`).join('; ')).toMatch(reason);
  });

  it('reads stages as dockerfile-ast does, on every example family\'s Dockerfiles', () => {
    let n = 0;
    for (const pkg of ['bento-server', 'python-base', 'lua', 'python-official', 'nvidia-cuda']) {
      const plan = loadPlan(join(REPO, 'examples', pkg, 'manifest.yaml'));
      for (const t of plan.tasks.values()) {
        if (t.kind !== 'render' || !(t as RenderTask).release) continue;
        const r = t as RenderTask;
        const text = r.files.find((f) => f.path === `${r.dir}/${r.dockerfile}`)!.content;
        const ours = parseDockerfile(text);
        const ast = DockerfileParser.parse(text);
        expect(ours.stages.map((s) => [s.line - 1, s.image, s.name ?? null])).toEqual(ast.getFROMs().map((f) => [f.getRange().start.line, f.getImage(), f.getBuildStage()?.toLowerCase() ?? null]));
        expect(ours.globalArgs.map((a) => a.name)).toEqual(ast.getInitialARGs().map((a) => a.getProperty()?.getName()));
        // Every child (the examples lock nothing, so no root is checked) builds FROM its parent.
        if (plan.spec.releases[r.release!]!.parent) {
          expect(fromArgVerdict(text, plan.spec.build.parentArg), `${pkg}/${r.dir}/${r.dockerfile}`).toEqual({ consumes: true, failures: [] });
          n++;
        }
      }
    }
    expect(n).toBeGreaterThan(20);
  });
});

describe("a child that does not build FROM its parent", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const nvidia = (extra: Record<string, string> = {}) => {
    const s = miniSpec({ 'templates/debian/runtime.Dockerfile.eta': '# runtime\nARG IMAGE_NAME\nFROM ${IMAGE_NAME}:base\n<%~ include("../partials/run", it) -%>\n', ...extra });
    dirs.push(s.dir);
    return s;
  };

  it("is a spec error at the template's FROM line, naming the Dockerfile and the arg", () => {
    const { dir, manifest } = nvidia();
    const errors = planError(manifest).diagnostics.filter((d) => d.severity === 'error');
    expect(errors).toEqual([{
      severity: 'error',
      path: 'releases.runtime',
      file: join(dir, 'templates/debian/runtime.Dockerfile.eta'),
      line: 3,
      column: 1,
      message: expect.stringMatching(/^deb\/runtime\/Dockerfile does not build FROM its parent image: its final stage builds `FROM \$\{IMAGE_NAME\}:base` \(line 3\), which names an image computed from \$\{IMAGE_NAME\}.*build arg BASE_IMAGE/),
    }]);
  });

  it('maps a FROM written in a partial to the partial, and reports every such Dockerfile at once', () => {
    const { dir, manifest } = nvidia({
      'templates/debian/runtime.Dockerfile.eta': 'ARG <%= it.parent_arg %>\n<%~ include("../partials/from", it) -%>\n',
      'templates/partials/from.eta': '# the base\nFROM ${<%= it.parent_arg %>}-slim\n',
      'templates/debian/devel.Dockerfile.eta': 'ARG BASE_IMAGE\nFROM debian:12\n',
    });
    writeFileSync(manifest, readFileSync(manifest, 'utf8').replace('distros:', '  devel:\n    parent: runtime\n    tags: ["{version}-python{python}-devel"]\ndistros:').replace('releases: [base, runtime]', 'releases: [base, runtime, devel]'));
    const errors = planError(manifest).diagnostics.filter((d) => d.severity === 'error');
    expect(errors.map((d) => [d.file, d.line, d.message.split(':')[0]])).toEqual([
      [join(dir, 'templates/partials/from.eta'), 2, 'deb/runtime/Dockerfile does not build FROM its parent image'],
      [join(dir, 'templates/debian/devel.Dockerfile.eta'), 2, 'deb/devel/Dockerfile does not build FROM its parent image'],
    ]);
  });

  it('validate, generate, graph and build all refuse it: exit 2, no stack trace', () => {
    const { manifest } = nvidia();
    for (const args of [['validate'], ['generate'], ['graph'], ['build', '--all', '--dry-run']]) {
      const r = cli([...args.slice(0, 1), manifest, ...args.slice(1)]);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(/runtime\.Dockerfile\.eta:3:1: error: releases\.runtime: deb\/runtime\/Dockerfile does not build FROM its parent image/);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });
});
