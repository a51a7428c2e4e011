// The engine commands: build, test, bake, ci, setup-qemu, builder, authenticate, push-readme
// (each registered by its own module, in the order `--help` lists them).
import { join, resolve } from 'node:path';
import { type Command, Option } from 'commander';
import { Ended, UsageError, WorkError } from '../core/base/errors.ts';
import { chooseMultiPlatform, splitAlreadyDone, type MultiPlatformMode } from '../core/plan/multi-platform.ts';
import { isEmptySelection, selectTasks } from '../core/plan/select.ts';
import { attestations, builderCapabilities, supportsAttestations, wantsAttestations, type BuilderInfo } from '../core/buildx/argv.ts';
import type { CacheSpec } from '../core/load/spec.ts';
import { authenticate } from '../tasks/authenticate.ts';
import { inspectBuilder } from '../tasks/builders.ts';
import { readState } from '../tasks/state.ts';
import { checkOutputPath } from '../tasks/links.ts';
import { refreshLock } from './inputs.ts';
import { buildxVersion, checkLines, checksUnsupported } from '../core/buildx/checks.ts';
import { runChecks } from '../tasks/checks.ts';
import { run } from '../tasks/runner.ts';
import { invocationContextOf } from '../tasks/run.ts';
import { publishedPerSummary } from '../tasks/summary.ts';
import { registryClient } from '../tasks/registry.ts';
import { stagingRepository } from '../core/plan/staging.ts';
import { printSelection } from '../core/views/print.ts';
import { entitlementRefusal, missingEntitlements } from '../core/plan/entitlements.ts';
import { parseAllowFlag, parseSecretFlag, parseSshFlag } from './build-inputs.ts';
import { registerAuthenticateCommand } from './authenticate.ts';
import { registerBakeCommand } from './bake.ts';
import { registerBuilderCommand } from './builder.ts';
import { cacheOptions, ghaAvailable, multiPlatformOption, positiveInt, specVcs, withCache } from './build-options.ts';
import { registerCiCommands } from './ci.ts';
import type { Output } from './output.ts';
import { registerSetupQemuCommand } from './qemu.ts';
import { runSelected } from './run-selected.ts';
import type { ExecuteOptions } from '../tasks/execute.ts';
import { addSelectionOptions, addSetOption, addShardOptions, selectionFrom, shardFrom } from './selection.ts';
import { load, loadPackage, packageArg, planned, pinningLine, lockChoice, waitLockOption, breakLockOption, type Loaded, type LoadedSpec } from './workspace.ts';

// Where tests and other commands have always found them.
export { cacheOptions, ghaAvailable } from './build-options.ts';
export { lookupFailures } from './ci.ts';
export { countLine, githubReport, STATUS_SYMBOL } from './summary.ts';

/** The attestations a build asks for (core/buildx/argv.ts attestations). */
type Attestations = ReturnType<typeof attestations>;

export function registerBuildCommands(program: Command, out: Output): void {
  registerBuildCommand(program, out);
  registerTestCommand(program, out);
  registerBakeCommand(program, out);
  registerCiCommands(program, out);
  registerSetupQemuCommand(program, out);
  registerBuilderCommand(program, out);
  registerAuthenticateCommand(program, out);
  registerPushReadmeCommand(program, out);
}

function registerBuildCommand(program: Command, out: Output): void {
  buildOptions(program).action((pkg: string | undefined, o: Record<string, unknown>, cmd: Command) => buildAction(pkg, o, cmd, out));
}

function buildOptions(program: Command): Command {
  return addSetOption(addShardOptions(addSelectionOptions(
    program
      .command('build')
      .description('build, test, push and publish the selected images in dependency order; unchanged work is skipped')
      .argument('[package]'),
  )))
    .option('--only <task-ids>', 'exactly these task ids (and what they depend on)', (v: string, p: string[] = []) => [...p, ...v.split(',')])
    .option('--push', 'push images and publish tags (default)')
    .option('--load', 'load images into the local engine instead of pushing')
    .option('--max-workers <n>', 'builds and tests at once (default: spec build.max_workers, else chosen from the builder: docs/building.md)', positiveInt)
    .option('--dry-run', 'print what would run, with argv and skip decisions; run nothing')
    .option('--check', 'run BuildKit\'s Dockerfile checks (buildx --call check) on every selected Dockerfile and report them per image with file:line; build nothing')
    .option('--print', 'print the merged spec of the selection as JSON, with the file:line each value came from (as bake --print); run nothing')
    .option('--force', 'rebuild even when nothing changed')
    .option('--keep-going', 'after a failure, still run everything that does not depend on it')
    .option('--atomic', 'change no public tag unless every selected build and test succeeds')
    .option('--adopt', 'let render tasks replace files manager did not write that stand where they write, and own them from now on')
    .option('--builder <name>', 'buildx builder to use')
    .addOption(multiPlatformOption())
    .addOption(new Option('--merge <how>', 'how manifest tasks publish tags: through the registry API (api, default), or one docker buildx imagetools create per wave (imagetools), for a registry whose API path misbehaves').choices(['api', 'imagetools']))
    .option('--staging-repository <repo>', 'where per-platform images wait for their manifest (default: the first publish registry)')
    .option('--provenance <value>', 'as buildx --provenance (mode=max, false, …); overrides the spec\'s build.attest')
    .option('--sbom <value>', 'as buildx --sbom (true, false); overrides the spec\'s build.attest')
    .option('--cache-from <spec>', 'buildx cache source, e.g. type=registry,ref=host/ns/app:cache-{distro}-{release}-{arch} (repeatable; replaces the spec\'s; placeholders fill per build)', (v: string, p: string[] = []) => [...p, v])
    .option('--cache-to <spec>', 'buildx cache destination, e.g. type=gha,scope={distro}-{release}-{arch},mode=max (repeatable; replaces the spec\'s)', (v: string, p: string[] = []) => [...p, v])
    .addOption(new Option('--cache-type <type>', 'a layer cache of this type with the default per-image keys, when the spec declares none').choices(['registry', 'gha', 'local']))
    .option('--pull', 'always fetch base images again for the builds that run (not an input: with nothing changed, add --force)')
    .option('--no-cache', 'build every step of the builds that run again (not an input: with nothing changed, add --force)')
    .option('--timeout <seconds>', 'per build and test task', positiveInt)
    .option('--secret <spec>', 'a build secret for every build, as buildx takes it: id=ID,env=VARIABLE or id=ID,src=FILE (repeatable; beside the spec\'s releases.*.secrets; never hashed)', (v: string, p: string[] = []) => [...p, parseSecretFlag(v)])
    .option('--ssh <spec>', 'an SSH mount for every build: default, or ID=PATH[,PATH] (repeatable; beside the spec\'s)', (v: string, p: string[] = []) => [...p, parseSshFlag(v)])
    .option('--allow <entitlements>', 'grant entitlements the spec\'s releases ask for (network.host, security.insecure; comma-separated or repeated)', (v: string, p: string[] = []) => [...p, ...parseAllowFlag(v)])
    .option('--metadata-file <file>', 'write what each image is (refs, digests per platform, hashes, cache refs) as JSON, as bake does')
    .option('--no-registry-check', 'trust only the state file, never the registry labels')
    .option('--refresh', 're-resolve base images and git refs upstream and update the lock file before planning')
    .option('--offline', 'decide from the state file alone: no registry lookups (with --dry-run: nothing leaves the machine)')
    .option('--assume-missing', 'when a registry lookup fails (after retries), build as if the image were absent instead of failing the task')
    .option('--log-dir <dir>', 'task logs (default: generated/<package>/.logs)')
    .addOption(waitLockOption())
    .addOption(breakLockOption())
    .option('--authenticate', 'log in to the package\'s registries first')
    .option('--registry <names>', 'publish to these of the package\'s registries only (names or hosts, comma-separated); the first stages the images')
    .option('--target-version <version>', 'override the spec version')
    .option('--output <dir|json>', '"json" prints the summary as JSON; otherwise the generated root');
}

async function buildAction(pkg: string | undefined, o: Record<string, unknown>, cmd: Command, out: Output): Promise<void> {
  if (o['push'] && o['load']) throw new UsageError('--push and --load exclude each other');
  const sel = selectionFrom(o);
  if (isEmptySelection(sel)) throw new UsageError('nothing selected: pass --all, --target package:release, or filters such as --releases / --distros');
  if (o['refresh'] && o['offline']) throw new UsageError('--refresh asks upstream registries; it cannot be --offline');
  let s = loadPackage(cmd.optsWithGlobals(), packageArg(pkg, o['target'] as string[] | undefined), o, out);
  if (o['refresh']) s = await refreshLock(s, out, { write: !o['dryRun'] });
  if (o['print']) {
    // What the selection builds does not depend on the builder: no engine is asked.
    const p = planned(s, out, { multiPlatform: 'split' });
    out.json(printSelection(p.plan, shardFrom(p.plan, selectTasks(p.plan, sel), o), p.root));
    return;
  }
  const planned0 = await planForBuilder(s, o, out, true);
  const builder = planned0.builder;
  // Caches are not inputs (no hash sees them), so the planned spec can take one afterwards.
  const l = o['cacheType'] && !planned0.l.plan.spec.build.cache ? withCache(planned0.l, o['cacheType'] as CacheSpec['type']) : planned0.l;
  const selected = shardFrom(l.plan, selectTasks(l.plan, sel), o);
  // Refused before anything runs, dry run too: BuildKit would fail the build on its first such step.
  const refusal = entitlementRefusal(missingEntitlements(l.plan, selected, (o['allow'] as string[] | undefined) ?? []));
  if (refusal) throw new UsageError(refusal);
  if (l.plan.spec.build.cache?.type === 'gha' && !ghaAvailable(process.env) && !o['dryRun']) {
    out.info('no GitHub Actions cache service here (ACTIONS_RUNTIME_TOKEN or its URL unset): building without a layer cache');
  }
  const attest = attestations(l.plan.spec.build.attest, { provenance: o['provenance'] as string | undefined, sbom: o['sbom'] as string | undefined });
  if (wantsAttestations(attest) && !o['dryRun']) await refuseUnattestable(attest, builder, o);
  if (!o['dryRun']) checkOutputPath(o['output'] && o['output'] !== 'json' ? resolve(String(o['output'])) : l.root, l.packageDir);
  if (o['check']) return buildChecks(l, selected, o, out, builder);
  if (o['authenticate'] && !o['dryRun']) await authenticate(l.plan.spec, { root: l.root, envFile: l.envFile, out });
  await runSelected(l, out, selected, await buildRunOptions(l, o, out, builder, attest), lockChoice(o));
}

/** `build --check`: the checks of each selected Dockerfile, said per file and line; exit 1 when any warns. */
async function buildChecks(l: Loaded, selected: Set<string>, o: Record<string, unknown>, out: Output, builder: BuilderInfo | undefined): Promise<void> {
  const info = builder ?? (await inspectBuilder(o['builder'] as string | undefined));
  const version = await run(['docker', 'buildx', 'version']);
  const unsupported = checksUnsupported(version.exitCode === 0 ? buildxVersion(version.stdout) : undefined, info);
  if (unsupported) throw new WorkError(unsupported);
  const ctx = invocationContextOf(l.plan, { packageDir: l.packageDir, mode: 'load', builder: o['builder'] as string | undefined }, stagingRepository(l.plan, o['stagingRepository'] as string | undefined) ?? 'localhost/check', false);
  const checks = await runChecks(l.plan, selected, ctx);
  const count = checks.reduce((n, c) => n + c.warnings.length, 0);
  if (out.opts.json) out.json({ ok: count === 0, checks });
  else {
    for (const line of checkLines(checks, l.packageDir, process.cwd())) out.result(line);
    out.result(`${checks.length} Dockerfile${checks.length === 1 ? '' : 's'} checked: ${count === 0 ? 'no warnings' : `${count} warning${count === 1 ? '' : 's'}`}`);
  }
  if (count) throw new Ended('failed');
}

/** Refused before anything runs: the builder would fail every build on it. */
async function refuseUnattestable(attest: Attestations, builder: BuilderInfo | undefined, o: Record<string, unknown>): Promise<void> {
  const info = builder ?? (await inspectBuilder(o['builder'] as string | undefined));
  if (!supportsAttestations(info)) {
    throw new UsageError(`builder "${info.name}" (driver ${info.driver}${info.driver === 'docker' ? `, ${info.imageStore ?? 'classic'} image store` : ''}, BuildKit ${info.buildkit ?? 'unknown'}) cannot attach attestations (${[attest.provenance && `provenance ${attest.provenance}`, attest.sbom && `sbom ${attest.sbom}`].filter(Boolean).join(', ')}): use a docker-container builder (manager builder create) or an engine with the containerd image store, or pass --provenance false --sbom false`);
  }
}

/** build's flags as the run takes them. */
async function buildRunOptions(l: Loaded, o: Record<string, unknown>, out: Output, builder: BuilderInfo | undefined, attest: Attestations): Promise<Partial<ExecuteOptions>> {
  return {
    logDir: (o['logDir'] as string | undefined) ?? join(l.packageDir, '.logs'),
    mode: o['load'] ? 'load' : 'push',
    ...(o['maxWorkers'] !== undefined ? { maxWorkers: o['maxWorkers'] as number } : {}),
    dryRun: Boolean(o['dryRun']),
    force: Boolean(o['force']),
    keepGoing: Boolean(o['keepGoing']),
    atomic: Boolean(o['atomic']),
    adopt: Boolean(o['adopt']),
    builder: o['builder'] as string | undefined,
    builderInfo: builder,
    stagingRepository: o['stagingRepository'] as string | undefined,
    ...(o['merge'] ? { merge: o['merge'] as 'api' | 'imagetools' } : {}),
    ...attest,
    ...cacheOptions(o),
    ghaAvailable: ghaAvailable(process.env),
    ...(o['metadataFile'] ? { metadataFile: String(o['metadataFile']) } : {}),
    timeoutSec: o['timeout'] as number | undefined,
    ...(o['secret'] ? { secrets: o['secret'] as string[] } : {}),
    ...(o['ssh'] ? { ssh: o['ssh'] as string[] } : {}),
    registryCheck: o['registryCheck'] !== false,
    offline: Boolean(o['offline']),
    assumeMissing: Boolean(o['assumeMissing']),
    ...(await specVcs(l.manifest)),
    // A dry run's plan is its result; with --json the JSON document is the only stdout.
    log: (line) => (o['dryRun'] && !out.opts.json ? out.result(line) : out.info(line)),
  };
}

function registerTestCommand(program: Command, out: Output): void {
  addSetOption(addShardOptions(addSelectionOptions(
    program
      .command('test')
      .description('run the spec\'s image tests on already-built images (builds what is missing first)')
      .argument('[package]'),
  )))
    .option('--builder <name>', 'buildx builder to use')
    .addOption(multiPlatformOption())
    .option('--timeout <seconds>', 'per test task', positiveInt)
    .option('--target-version <version>', 'override the spec version')
    .addOption(waitLockOption())
    .addOption(breakLockOption())
    .action(async (pkg: string | undefined, o: Record<string, unknown>, cmd: Command) => {
      const { l, builder } = await planForBuilder(loadPackage(cmd.optsWithGlobals(), packageArg(pkg, o['target'] as string[] | undefined), o, out), o, out);
      const sel = selectionFrom(o);
      const all = shardFrom(l.plan, selectTasks(l.plan, isEmptySelection(sel) ? { all: true } : sel), o);
      const tests = [...all].filter((id) => l.plan.tasks.get(id)!.kind === 'test');
      if (!tests.length) throw new UsageError('the selection has no image tests (add `tests` to a release)');
      const selected = selectTasks(l.plan, { only: tests });
      await runSelected(l, out, selected, {
        keepGoing: true,
        builder: o['builder'] as string | undefined,
        builderInfo: builder,
        timeoutSec: o['timeout'] as number | undefined,
        retest: true,
      }, lockChoice(o));
    });
}

function registerPushReadmeCommand(program: Command, out: Output): void {
  program
    .command('push-readme')
    .description('push the generated README.md to every registry repository with readme: true')
    .argument('<package>')
    .option('--registry <names>', 'only these registries, comma-separated')
    .addOption(waitLockOption())
    .addOption(breakLockOption())
    .action(async (pkg: string, o: Record<string, unknown>, cmd: Command) => {
      const l = load(cmd.optsWithGlobals(), pkg, {}, out);
      const names = o['registry'] ? String(o['registry']).split(',').map((s) => s.trim()) : undefined;
      const readmes = [...l.plan.tasks.values()].filter((t) => t.kind === 'readme' && (!names || names.includes((t as { registry: string }).registry)));
      if (!readmes.length) throw new UsageError('no registry of this package has readme: true');
      const selected = selectTasks(l.plan, { only: readmes.map((t) => t.id) });
      const onlyReadme = new Set([...selected].filter((id) => ['readme', 'render'].includes(l.plan.tasks.get(id)!.kind)));
      await runSelected(l, out, onlyReadme, { maxWorkers: 2, force: true, keepGoing: true, registryCheck: false, renderer: 'silent' }, lockChoice(o));
    });
}

/**
 * Plans for the builder at hand. Unless split is fixed, the builder is asked what it can do
 * first: that decides whether an image's platforms are one build or several, so the graph's shape.
 */
/** A fresh runner's auto no-op: the registry's summary, when it may be asked, stands in for the state file. */
async function splitPublished(split: Loaded, o: Record<string, unknown>): Promise<boolean> {
  const repo = stagingRepository(split.plan, o['stagingRepository'] as string | undefined);
  if (!repo || o['load'] || o['force'] || o['offline'] || o['registryCheck'] === false) return false;
  const client = registryClient();
  try {
    return await publishedPerSummary(split.plan, client, repo);
  } finally {
    await client.close();
  }
}

async function planForBuilder(s: LoadedSpec, o: Record<string, unknown>, out: Output, registryKnows = false): Promise<{ l: Loaded; builder?: BuilderInfo }> {
  const requested = (o['multiPlatform'] as MultiPlatformMode | undefined) ?? s.spec.build.multiPlatform;
  let builder: BuilderInfo | undefined;
  const platformFilter = Boolean((o['platforms'] as string[] | undefined)?.length);
  const fanOut = Boolean((o['only'] as string[] | undefined)?.length || o['shard']);
  // auto plans split whatever the builder says in these cases, and when the split plan's
  // builds are all recorded as done (docs/building.md): then no docker process is started.
  let split: Loaded | undefined;
  let kept: string | undefined;
  if (requested === 'auto' && (platformFilter || fanOut)) kept = platformFilter ? 'a --platforms filter builds part of each image' : '--only and --shard name per-platform work';
  else if (requested === 'auto') {
    split = planned(s, out, { multiPlatform: 'split' });
    if (splitAlreadyDone(split.plan.tasks.values(), readState(s.packageDir).tasks, Boolean(o['force']))) kept = 'every build of that plan is recorded as done, so the builder was not asked';
    else if (registryKnows && (await splitPublished(split, o))) kept = 'every build of that plan is published (the registry\'s publication summary), so the builder was not asked';
  }
  if (requested !== 'split' && !kept) {
    try {
      builder = await inspectBuilder(o['builder'] as string | undefined);
    } catch (e) {
      if (!o['dryRun']) throw e; // a dry run needs no engine
    }
  }
  const choice = kept ? { strategy: 'split' as const, reason: kept } : chooseMultiPlatform(requested, builder && builderCapabilities(builder), { platformFilter, load: Boolean(o['load']), fanOut });
  // A dry run shows the plan on stdout, and these lines are part of it (unless stdout is one JSON document).
  const say = (line: string) => (o['dryRun'] && !out.opts.json ? out.result(line) : out.info(line));
  say(`platforms: ${choice.strategy === 'single' ? 'one build per image for all its platforms' : 'one build per platform, merged by manifest tasks'} (${choice.reason})`);
  const l = choice.strategy === 'split' && split ? split : planned(s, out, { multiPlatform: choice.strategy });
  say(pinningLine(l.plan));
  return { l, builder };
}
