// What a task that the decision says runs does, as data: the exact argv of every program it
// starts and the requests it makes, in order. The real run executes these steps
// (tasks/effects.ts) and the dry run prints them (tasks/dry-run.ts), so the two cannot differ.
// Pure: the task, the images known so far and the run's invocation context in, steps out.
import { join } from 'node:path';
import { buildArgv, runTestArgv } from './argv.ts';
import { buildInvocation, mergeArgvs, mergeIndex, type InvocationContext } from './invocation.ts';
import type { Plan } from '../plan/plan.ts';
import { logFileName } from '../plan/staging.ts';
import type { BuildTask, ManifestTask, ReadmeTask, RenderTask, Task, TestTask } from '../plan/task.ts';

export type Step =
  /** A program run through the one runner. */
  | { kind: 'exec'; argv: string[]; what?: string }
  /** Generated files written through the staged, link-refusing writer. */
  | { kind: 'write'; files: string[] }
  /** The README pushed to a registry's web API (or docker-pushrm), as the registry's driver does it. */
  | { kind: 'readme'; registry: string; repository: string }
  /**
   * Tags published through the registry API: one source copied as it is, or several merged into
   * one OCI index with these annotations (core/buildx/oci-index.ts; executed by tasks/merge.ts).
   */
  | IndexStep;

export interface IndexStep {
  kind: 'index';
  sources: string[];
  tags: string[];
  annotations: Record<string, string>;
}

export interface StepContext {
  inv: InvocationContext;
  /** Where per-task logs (and a build's metadata file) go. */
  logDir: string;
  /** The image each build produced or found: the ref children and manifests use. */
  image: (buildId: string) => string;
  /** The machine's architecture in Docker's words (amd64, arm64, …), for `--load`'s local tags. */
  hostArch: string;
}

/** The machine's architecture as Docker names it. */
export function dockerArch(nodeArch: string): string {
  return nodeArch === 'x64' ? 'amd64' : nodeArch;
}

/** Where buildx writes a build's --metadata-file (read back for the digest, then removed). */
export function metadataPath(logDir: string, b: BuildTask): string {
  return join(logDir, `.metadata-${logFileName(b.id)}.json`);
}

/**
 * `--load` keeps one platform per tag: the build whose image a manifest's tags name locally,
 * the only one or the host's; undefined when none matches this host.
 */
export function localSource(m: ManifestTask, plan: Plan, hostArch: string): BuildTask | undefined {
  const builds = m.builds.map((id) => plan.tasks.get(id) as BuildTask);
  return builds.length === 1 ? builds[0] : builds.find((b) => b.platforms[0]!.split('/')[1] === hostArch);
}

export function buildSteps(b: BuildTask, c: StepContext): Step[] {
  const parent = b.parentBuild ? c.image(b.parentBuild) : undefined;
  return [{ kind: 'exec', argv: buildArgv(buildInvocation(b, parent, c.inv, metadataPath(c.logDir, b))) }];
}

export function testSteps(t: TestTask, c: StepContext): Step[] {
  return t.tests.map((x) => ({ kind: 'exec', argv: runTestArgv(c.image(t.build), t.platform, x.run, x.entrypoint), what: x.name }));
}

export function manifestSteps(m: ManifestTask, c: StepContext): Step[] {
  if (c.inv.mode === 'load') {
    const src = localSource(m, c.inv.plan, c.hostArch);
    return src ? m.refs.map((ref) => ({ kind: 'exec', argv: ['docker', 'tag', c.image(src.id), ref] })) : [];
  }
  const sources = m.builds.map(c.image);
  if (c.inv.merge === 'imagetools') return mergeArgvs(m, sources, c.inv).map((argv) => ({ kind: 'exec', argv }));
  return [{ kind: 'index', ...mergeIndex(m, sources, c.inv) }];
}

export function renderSteps(t: RenderTask): Step[] {
  return [{ kind: 'write', files: t.files.map((f) => f.path) }];
}

export function readmeSteps(t: ReadmeTask): Step[] {
  return [{ kind: 'readme', registry: t.registry, repository: t.repository }];
}

/** The steps of any task: one pure function per kind. */
export function stepsOf(t: Task, c: StepContext): Step[] {
  switch (t.kind) {
    case 'build':
      return buildSteps(t, c);
    case 'test':
      return testSteps(t, c);
    case 'manifest':
      return manifestSteps(t, c);
    case 'render':
      return renderSteps(t);
    case 'readme':
      return readmeSteps(t);
  }
}

/** One word as a POSIX shell reads it back: bare when safe, else single-quoted. */
export function shellQuote(word: string): string {
  if (word !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replaceAll("'", "'\\''")}'`;
}

/** A step as the dry run prints it: a pasteable command line, or what is written or pushed. */
export function formatStep(s: Step): string {
  switch (s.kind) {
    case 'exec':
      return s.argv.map(shellQuote).join(' ');
    case 'write':
      return `write ${s.files.map(shellQuote).join(' ')}`;
    case 'readme':
      return `push README.md to ${s.repository} (registry ${s.registry})`;
    case 'index':
      return formatIndexStep(s);
  }
}

/** `copy SRC to TAG…`, or `merge SRC… into an OCI index at TAG… annotated K=V…`: what the registry API calls do. */
function formatIndexStep(s: IndexStep): string {
  const words = (xs: string[]) => xs.map(shellQuote).join(' ');
  // Which of the two happens to one source depends on what the build pushed, known only then.
  if (s.sources.length === 1) return `copy ${words(s.sources)} to ${words(s.tags)}, an image manifest as an index of one (registry API)`;
  const notes = Object.entries(s.annotations).map(([k, v]) => `${k}=${v}`);
  return `merge ${words(s.sources)} into an OCI index at ${words(s.tags)}${notes.length ? ` annotated ${words(notes)}` : ''} (registry API)`;
}
