// What running each kind of task does to the world, once the decision says it runs: write a
// generated directory, build and push an image, run its tests, publish its tags, push a README.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import type { Decision } from '../core/plan/decide.ts';
import { WorkError } from '../core/base/errors.ts';
import { parseMetadataFile } from '../core/buildx/argv.ts';
import { parseImageRef } from '../core/base/image-ref.ts';
import { buildSteps, formatStep, localSource, manifestSteps, metadataPath, testSteps, type IndexStep, type Step } from '../core/buildx/steps.ts';
import { indexPushRace, retryableDockerError } from '../core/base/retry.ts';
import { publicationTag, stagingRef, testRecordRef } from '../core/plan/staging.ts';
import { MEDIA } from '../core/base/manifest.ts';
import { EMPTY_CONFIG, recordManifest, testsHash, type Publication } from '../core/plan/publication.ts';
import type { BuildTask, ManifestTask, ReadmeTask, RenderTask, Task, TestTask } from '../core/plan/task.ts';
import { RegistryError } from '../registries/distribution.ts';
import { fileBody, writeRendered } from './generate.ts';
import { summaryWriter } from './summary.ts';
import { appendLog, startLog } from './logs.ts';
import { publishIndex, copierFor } from './merge.ts';
import { restoreTags, tagStates } from './tag-rollback.ts';
import type { Run, TaskResult } from './run.ts';

type Progress = (line: string) => void;

export async function runEffect(r: Run, t: Task, d: Decision, progress: Progress): Promise<TaskResult> {
  switch (t.kind) {
    case 'render':
      return render(r, t, d);
    case 'build':
      return build(r, t, d, progress);
    case 'test':
      return test(r, t, d, progress);
    case 'manifest':
      return r.opts.mode === 'load' ? tagLocally(r, t, d, progress) : manifest(r, t, d, progress);
    case 'readme':
      return readme(r, t, d, progress);
  }
}

/** The build pushed fine but the registry hiccuped while receiving it. */
export function isPushHiccup(output: string): boolean {
  const tail = output.split('\n').slice(-30).join('\n');
  return /(failed to push|pushing|push.*failed|failed to do request|unexpected status)/i.test(tail) && retryableDockerError(tail);
}

/** Writes the task's files under generate's rules: staged, link-refusing, only over what the tool wrote. */
function render(r: Run, t: RenderTask, d: Decision): TaskResult {
  const started = performance.now();
  const renders = [...r.plan.tasks.values()].filter((x): x is RenderTask => x.kind === 'render');
  writeRendered(r.opts.packageDir, new Map(t.files.map((f) => [f.path, fileBody(f)])), { renders, state: r.state, package: r.plan.spec.package }, { adopt: r.opts.adopt });
  return r.succeed(t, 'ran', performance.now() - started, d);
}

/** The argv of each program the steps run, in order. */
function execArgv(steps: Step[]): string[][] {
  return steps.flatMap((s) => (s.kind === 'exec' ? [s.argv] : []));
}

async function build(r: Run, b: BuildTask, d: Decision, progress: Progress): Promise<TaskResult> {
  const builder = await r.engine();
  const metadataFile = metadataPath(r.opts.logDir, b);
  rmSync(metadataFile, { force: true });
  const argv = execArgv(buildSteps(b, r.stepContext(builder)))[0]!;
  // A push the registry refused for a passing reason (5xx, 429, a dropped connection) is
  // retried with backoff; BuildKit's cache makes the retry only the push.
  const res = await r.retrying(b, `the ${b.id} push`, 1000, progress, (attempt) =>
    r.runLogged(b, argv, progress, r.timeoutMs(b), attempt === 1 ? `# ${d.reason}\n` : `# attempt ${attempt}: the push failed\n`, attempt > 1),
    (x) => !x.timedOut && isPushHiccup(x.stdout + x.stderr),
  );
  const meta = existsSync(metadataFile) ? parseMetadataFile(readFileSync(metadataFile, 'utf8')) : {};
  rmSync(metadataFile, { force: true });
  if (res.exitCode !== 0) return r.fail(b, res);
  const tag = stagingRef(r.stagingRepo, b);
  const ref = r.opts.mode === 'push' && meta.digest ? `${tag}@${meta.digest}` : tag;
  return r.succeed(b, 'built', res.durationMs, d, { ref, digest: meta.digest });
}

async function test(r: Run, t: TestTask, d: Decision, progress: Progress): Promise<TaskResult> {
  const started = performance.now();
  await r.engine();
  const image = r.images.get(t.build);
  if (!image) throw new WorkError(`${t.build} has no image to test`);
  startLog(r.logPath(t));
  const argvs = execArgv(testSteps(t, r.stepContext(r.builder)));
  for (const [i, x] of t.tests.entries()) {
    const argv = argvs[i]!;
    progress(`${x.name}: ${argv.slice(-Math.max(1, Array.isArray(x.run) ? x.run.length : 2)).join(' ')}`);
    const res = await r.runLogged(t, argv, () => {}, (r.opts.timeoutSec ?? x.timeout) * 1000, `# test ${x.name}\n`, true);
    if (res.timedOut) return r.fail(t, res, `test "${x.name}" timed out`);
    const output = res.stdout + res.stderr;
    if (res.exitCode !== x.exitCode) return r.fail(t, res, `test "${x.name}" exited ${res.exitCode}, expected ${x.exitCode}`);
    if (x.output && !new RegExp(x.output).test(output)) {
      return r.fail(t, res, `test "${x.name}" output did not match /${x.output}/: ${output.trim().split('\n').slice(-3).join(' | ')}`);
    }
  }
  await recordTestPass(r, t, image, progress);
  return r.succeed(t, 'ran', performance.now() - started, d);
}

/**
 * Leaves the pass in the registry: the tested image tagged under the test's hash, so a
 * machine with no state file knows these tests passed on this exact image. Best effort.
 */
async function recordTestPass(r: Run, t: TestTask, image: { ref: string; digest?: string }, progress: Progress): Promise<void> {
  if (r.opts.mode !== 'push' || !r.client || !image.digest) return;
  const src = parseImageRef(image.ref);
  const dest = parseImageRef(testRecordRef(r.stagingRepo, t));
  if (src.host !== dest.host || src.repository !== dest.repository) return; // blobs live elsewhere
  try {
    const m = await r.client.manifest({ ...src, tag: undefined, digest: image.digest });
    if (m) await r.client.putManifest(dest.host, dest.repository, dest.tag!, m.mediaType, m.body);
  } catch (e) {
    if (!(e instanceof RegistryError)) throw e;
    progress(`could not record the pass in the registry: ${e.message}`);
  }
}

async function manifest(r: Run, m: ManifestTask, d: Decision, progress: Progress): Promise<TaskResult> {
  const [first] = manifestSteps(m, r.stepContext(r.builder));
  if (first?.kind === 'index') return publishThroughApi(r, m, d, first, progress);
  await r.engine();
  const argvs = execArgv(manifestSteps(m, r.stepContext(r.builder)));
  progress(`${m.refs.length} tags for ${m.platforms.length} platforms from ${m.builds.length} image${m.builds.length === 1 ? '' : 's'}`);
  // Where every tag points now, so a merge that fails half-way can put back what it moved.
  const before = r.client ? await tagStates(r.client, m.refs) : undefined;
  let spent = 0;
  for (const [wave, argv] of argvs.entries()) {
    // The merge is pure network work: retry registry hiccups with backoff, reporting each.
    const res = await r.retrying(m, `the ${m.id} merge`, 500, progress, (attempt) =>
      r.runLogged(m, argv, progress, 10 * 60_000, attempt > 1 ? `# attempt ${attempt}\n` : '', wave > 0 || attempt > 1),
      (x) => retryableDockerError(x.stderr) || indexPushRace(x.stderr),
    );
    spent += res.durationMs;
    if (res.exitCode !== 0) {
      const tags = r.client && before && !res.aborted ? await restoreTags(r.client, before, progress) : 'tags not checked';
      return r.fail(m, res, `${res.timedOut ? 'timed out' : `exited ${res.exitCode ?? res.signal}`}; ${tags}`);
    }
  }
  const argv = argvs.flat();
  const head = r.client ? await r.client.head(parseImageRef(m.refs[0]!)).catch(() => undefined) : undefined;
  const digest = head?.digest;
  // buildx keeps index annotations only on OCI indexes; a Docker manifest list (images from the
  // classic store) drops them without a word, so say it.
  if (head?.mediaType === 'application/vnd.docker.distribution.manifest.list.v2+json' && argv.includes('--annotation')) {
    progress('index annotations not kept: the images are Docker v2 manifests (classic image store); their OCI labels still say it');
  }
  await recordPublication(r, m, digest, progress);
  return r.succeed(m, 'ran', spent, d, { digest });
}

/**
 * The merge through the registry API (tasks/merge.ts): no engine and no process. A failure
 * half-way puts back the tags it moved, as a failed `imagetools create` does.
 */
async function publishThroughApi(r: Run, m: ManifestTask, d: Decision, step: IndexStep, progress: Progress): Promise<TaskResult> {
  const started = performance.now();
  if (!r.client) throw new WorkError(`${m.id}: publishing through the registry API needs the registry client of a push run`);
  const log = r.logPath(m);
  startLog(log, `# ${d.reason}\n# ${formatStep(step)}\n`);
  const say = (line: string) => appendLog(log, `${line}\n`);
  progress(`${m.refs.length} tags for ${m.platforms.length} platforms from ${m.builds.length} image${m.builds.length === 1 ? '' : 's'} (registry API)`);
  const before = await tagStates(r.client, m.refs);
  try {
    const out = await publishIndex(r.client, step, say, copierFor(r.client, r.abort.signal));
    say(`# published ${out.digest}: blobs ${out.blobs.mounted} mounted, ${out.blobs.copied} copied, ${out.blobs.present} already there; ${out.manifests} manifests put by digest`);
    await recordPublication(r, m, out.digest, progress);
    return r.succeed(m, 'ran', performance.now() - started, d, { digest: out.digest });
  } catch (e) {
    if (!(e instanceof RegistryError)) throw e;
    const aborted = r.abort.signal.aborted;
    say(`# ${e.message}`);
    const tags = aborted ? 'tags not checked' : await restoreTags(r.client, before, (line) => {
      say(line);
      progress(line);
    });
    const res = { argv: [], exitCode: 1, signal: null, stdout: '', stderr: e.message, timedOut: false, aborted, durationMs: performance.now() - started };
    return r.fail(m, res, `the merge failed: ${e.message}; ${tags}`);
  }
}

/**
 * Leaves the publication record in the staging repository: which staged image each build is,
 * the tests that passed on them, what the tags point at. A machine with no state file learns
 * all of that from this one manifest, and from the package's summary (tasks/summary.ts), which
 * gathers every record so a whole family is one lookup. Best effort: without either, the images
 * are checked instead.
 */
export async function recordPublication(r: Run, m: ManifestTask, published: string | undefined, progress: Progress): Promise<void> {
  if (r.opts.mode !== 'push' || !r.client || !published) return;
  const builds: Record<string, string> = {};
  for (const id of m.builds) {
    const digest = r.images.get(id)?.digest;
    if (!digest) return;
    builds[id] = digest;
  }
  const repo = parseImageRef(r.stagingRepo);
  const at = new Date().toISOString();
  const publication: Publication = { manifest: m.hash.value, tests: testsHash(m, r.plan.tasks), builds, published };
  try {
    r.recordConfig ??= r.client.putBlob(repo.host, repo.repository, EMPTY_CONFIG);
    await r.recordConfig;
    await r.client.putManifest(repo.host, repo.repository, publicationTag(m), MEDIA.ociManifest, recordManifest(publication, at));
  } catch (e) {
    if (!(e instanceof RegistryError)) throw e;
    progress(`could not record the publication in the registry: ${e.message}`);
    return;
  }
  try {
    await summaryWriter(r, r.client, r.stagingRepo, r.plan.spec.package).add(m.id, { ...publication, at });
  } catch (e) {
    if (!(e instanceof RegistryError)) throw e;
    progress(`could not add the publication to the package's summary in the registry (its own record stands): ${e.message}`);
  }
}

/** --load: no registry, so tag the local image of the host's platform (or the only one), as the decision found it. */
async function tagLocally(r: Run, m: ManifestTask, d: Decision, progress: Progress): Promise<TaskResult> {
  const started = performance.now();
  await r.engine();
  for (const argv of execArgv(manifestSteps(m, r.stepContext(r.builder)))) {
    progress(`docker tag ${argv[argv.length - 1]}`);
    const res = await r.runLogged(m, argv, progress, 60_000, '', true);
    if (res.exitCode !== 0) return r.fail(m, res);
  }
  const src = localSource(m, r.plan, r.finder.run.hostArch)!;
  return r.finish(m, 'ran', performance.now() - started, `tagged the ${src.platforms.join(', ')} image locally`);
}

async function readme(r: Run, t: ReadmeTask, d: Decision, progress: Progress): Promise<TaskResult> {
  const started = performance.now();
  // decide() skips a README when no pusher is configured; reaching here without one is a bug.
  if (!r.opts.pushReadme) throw new Error('README push not configured, yet decided to run');
  const docs = r.plan.tasks.get(t.docs) as RenderTask;
  const content = docs.files.find((f) => f.path === 'README.md')!.content;
  const log = r.logPath(t);
  startLog(log);
  await r.opts.pushReadme(t, content, (line) => {
    appendLog(log, line + '\n');
    progress(line);
  }, r.abort.signal);
  return r.succeed(t, 'ran', performance.now() - started, d);
}
