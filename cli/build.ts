// Commands that touch the engine or a registry: build, test, bake, ci, setup-qemu, builder,
// authenticate, push-readme.
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { type Command, Option } from 'commander';
import { ciMatrix, MATRIX_LIMIT, matrixBatches } from '../core/views/ci.ts';
import { githubWorkflow } from '../core/views/workflow.ts';
import { DRIVERS } from '../registries/index.ts';
import { Ended, runOutcome, UsageError, WorkError } from '../core/base/errors.ts';
import { chooseMultiPlatform, splitAlreadyDone, type MultiPlatformMode } from '../core/plan/multi-platform.ts';
import { short } from '../core/base/hash.ts';
import { redactor } from '../core/base/redact.ts';
import { isEmptySelection, selectTasks } from '../core/plan/select.ts';
import { writeFileAtomic } from '../tasks/atomic.ts';
import { fsFailure } from '../tasks/fs-error.ts';
import { authenticate, readmePusher } from '../tasks/authenticate.ts';
import { bakeFile, type ParentMode } from '../core/buildx/bake.ts';
import { createBuilder, inspectBuilder, parseNode, setupQemu } from '../tasks/builders.ts';
import { attestations, builderCapabilities, supportsAttestations, supportsNamedContexts, wantsAttestations, type BuilderInfo } from '../core/buildx/argv.ts';
import type { CacheSpec } from '../core/spec/spec.ts';
import { changedBuilds } from '../tasks/staged.ts';
import { registryClient } from '../tasks/registry.ts';
import { refreshLock } from './inputs.ts';
import { execute, type ExecuteOptions, type Summary } from '../tasks/execute.ts';
import { progressChoice } from '../core/views/progress.ts';
import { reportHtml, reportMarkdown } from '../core/views/report.ts';
import { browsableUrl, epochToIso, type VcsInfo } from '../core/buildx/oci-labels.ts';
import { run } from '../tasks/runner.ts';
import { localRepository, stagingRepository } from '../core/plan/staging.ts';
import { readState } from '../tasks/state.ts';
import { foreignInTheWay } from '../tasks/generate.ts';
import { checkOutputPath } from '../tasks/links.ts';
import type { RenderTask } from '../core/plan/task.ts';
import { escapeData, type Output } from './output.ts';
import { addSelectionOptions, addSetOption, addShardOptions, selectionArgs, selectionFrom, shardFrom } from './selection.ts';
import { ciDescribes, gitRoot, load, nodeProject, loadPackage, packageArg, pinningLine, planned, specCommit, takeLock, lockChoice, waitLockOption, breakLockOption, type Loaded, type LoadedSpec, type LockChoice } from './workspace.ts';

/** Each registry kind's credential variables, from the one table the drivers keep. */
const credentialDefaults = () => Object.fromEntries(Object.entries(DRIVERS).map(([k, d]) => [k, d.defaultCredentials])) as Parameters<typeof githubWorkflow>[1]['credentialDefaults'];

/**
 * What the repository holding the manifest says for the OCI labels (revision, source, commit
 * time): asked here, at the edge, of that repository and not of the current directory's;
 * core/buildx/oci-labels.ts decides the labels.
 */
async function specVcs(manifest: string): Promise<VcsInfo> {
  const env = process.env;
  const repo = gitRoot(dirname(manifest));
  const revision = specCommit(manifest, env);
  const ci = ciDescribes(manifest, env) && env['GITHUB_SERVER_URL'] && env['GITHUB_REPOSITORY'] ? `${env['GITHUB_SERVER_URL']}/${env['GITHUB_REPOSITORY']}` : undefined;
  const source = ci ?? (repo ? browsableUrl((await gitOut(repo, ['remote', 'get-url', 'origin'])) ?? '') : undefined);
  const created = epochToIso(env['SOURCE_DATE_EPOCH']) ?? (revision && repo ? epochToIso(await gitOut(repo, ['show', '-s', '--format=%ct', revision])) : undefined);
  return { revision, source, created };
}

async function gitOut(root: string, args: string[]): Promise<string | undefined> {
  const r = await run(['git', '-C', root, ...args]);
  return r.exitCode === 0 ? r.stdout.trim() : undefined;
}

/**
 * Failed lookups, one line per cause: a host found unreachable is one line however many builds
 * asked it; other failures are listed per build, twenty at most.
 */
export function lookupFailures(failed: Map<string, string>, unreachable: Map<string, string>): string {
  const byCause = new Map<string, string[]>();
  for (const [id, why] of failed) {
    const dead = [...unreachable].find(([origin]) => why.includes(origin));
    const cause = dead ? `${dead[0]} is unreachable: ${dead[1]}` : `${id}: ${why}`;
    byCause.set(cause, [...(byCause.get(cause) ?? []), id]);
  }
  const lines = [...byCause].map(([cause, ids]) => (ids.length > 1 ? `  ${cause} (${ids.length} builds, e.g. ${ids[0]})` : `  ${cause}`));
  return [...lines.slice(0, 20), ...(lines.length > 20 ? [`  … and ${lines.length - 20} more`] : [])].join('\n');
}

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`expected a positive integer, got "${v}"`);
  return n;
}

export function registerBuildCommands(program: Command, out: Output): void {
  addSetOption(addShardOptions(addSelectionOptions(
    program
      .command('build')
      .description('build, test, push and publish the selected images in dependency order; unchanged work is skipped')
      .argument('[package]'),
  )))
    .option('--only <task-ids>', 'exactly these task ids (and what they depend on)', (v: string, p: string[] = []) => [...p, ...v.split(',')])
    .option('--push', 'push images and publish tags (default)')
    .option('--load', 'load images into the local engine instead of pushing')
    .option('--max-workers <n>', 'parallel tasks (default: spec build.max_workers, else 5)', positiveInt)
    .option('--dry-run', 'print what would run, with argv and skip decisions; run nothing')
    .option('--force', 'rebuild even when nothing changed')
    .option('--keep-going', 'after a failure, still run everything that does not depend on it')
    .option('--atomic', 'change no public tag unless every selected build and test succeeds')
    .option('--adopt', 'let render tasks replace files manager did not write that stand where they write, and own them from now on')
    .option('--builder <name>', 'buildx builder to use')
    .addOption(multiPlatformOption())
    .option('--staging-repository <repo>', 'where per-platform images wait for their manifest (default: the first publish registry)')
    .option('--provenance <value>', 'as buildx --provenance (mode=max, false, …); overrides the spec\'s build.attest')
    .option('--sbom <value>', 'as buildx --sbom (true, false); overrides the spec\'s build.attest')
    .option('--cache-from <spec>', 'buildx cache source, e.g. type=registry,ref=host/ns/app:cache-{distro}-{release}-{arch} (repeatable; replaces the spec\'s; placeholders fill per build)', (v: string, p: string[] = []) => [...p, v])
    .option('--cache-to <spec>', 'buildx cache destination, e.g. type=gha,scope={distro}-{release}-{arch},mode=max (repeatable; replaces the spec\'s)', (v: string, p: string[] = []) => [...p, v])
    .addOption(new Option('--cache-type <type>', 'a layer cache of this type with the default per-image keys, when the spec declares none').choices(['registry', 'gha', 'local']))
    .option('--pull', 'always fetch base images again for the builds that run (not an input: with nothing changed, add --force)')
    .option('--no-cache', 'build every step of the builds that run again (not an input: with nothing changed, add --force)')
    .option('--timeout <seconds>', 'per build and test task', positiveInt)
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
    .option('--output <dir|json>', '"json" prints the summary as JSON; otherwise the generated root')
    .action(async (pkg: string | undefined, o: Record<string, unknown>, cmd: Command) => {
      if (o['push'] && o['load']) throw new UsageError('--push and --load exclude each other');
      const sel = selectionFrom(o);
      if (isEmptySelection(sel)) throw new UsageError('nothing selected: pass --all, --target package:release, or filters such as --releases / --distros');
      if (o['refresh'] && o['offline']) throw new UsageError('--refresh asks upstream registries; it cannot be --offline');
      let s = loadPackage(cmd.optsWithGlobals(), packageArg(pkg, o['target'] as string[] | undefined), o, out);
      if (o['refresh']) s = await refreshLock(s, out, { write: !o['dryRun'] });
      const planned0 = await planForBuilder(s, o, out);
      const builder = planned0.builder;
      // Caches are not inputs (no hash sees them), so the planned spec can take one afterwards.
      const l = o['cacheType'] && !planned0.l.plan.spec.build.cache ? withCache(planned0.l, o['cacheType'] as CacheSpec['type']) : planned0.l;
      const selected = shardFrom(l.plan, selectTasks(l.plan, sel), o);
      if (l.plan.spec.build.cache?.type === 'gha' && !ghaAvailable(process.env) && !o['dryRun']) {
        out.info('no GitHub Actions cache service here (ACTIONS_RUNTIME_TOKEN or its URL unset): building without a layer cache');
      }
      const attest = attestations(l.plan.spec.build.attest, { provenance: o['provenance'] as string | undefined, sbom: o['sbom'] as string | undefined });
      if (wantsAttestations(attest) && !o['dryRun']) {
        // Refused before anything runs: the builder would fail every build on it.
        const info = builder ?? (await inspectBuilder(o['builder'] as string | undefined));
        if (!supportsAttestations(info)) {
          throw new UsageError(`builder "${info.name}" (driver ${info.driver}${info.driver === 'docker' ? `, ${info.imageStore ?? 'classic'} image store` : ''}, BuildKit ${info.buildkit ?? 'unknown'}) cannot attach attestations (${[attest.provenance && `provenance ${attest.provenance}`, attest.sbom && `sbom ${attest.sbom}`].filter(Boolean).join(', ')}): use a docker-container builder (manager builder create) or an engine with the containerd image store, or pass --provenance false --sbom false`);
        }
      }
      {
        if (!o['dryRun']) checkOutputPath(o['output'] && o['output'] !== 'json' ? resolve(String(o['output'])) : l.root, l.packageDir);
        if (o['authenticate'] && !o['dryRun']) await authenticate(l.plan.spec, { root: l.root, envFile: l.envFile, out });
        await runSelected(l, out, selected, {
          logDir: (o['logDir'] as string | undefined) ?? join(l.packageDir, '.logs'),
          mode: o['load'] ? 'load' : 'push',
          maxWorkers: (o['maxWorkers'] as number | undefined) ?? l.plan.spec.build.maxWorkers,
          dryRun: Boolean(o['dryRun']),
          force: Boolean(o['force']),
          keepGoing: Boolean(o['keepGoing']),
          atomic: Boolean(o['atomic']),
          adopt: Boolean(o['adopt']),
          builder: o['builder'] as string | undefined,
          builderInfo: builder,
          stagingRepository: o['stagingRepository'] as string | undefined,
          ...attest,
          ...cacheOptions(o),
          ghaAvailable: ghaAvailable(process.env),
          ...(o['metadataFile'] ? { metadataFile: String(o['metadataFile']) } : {}),
          timeoutSec: o['timeout'] as number | undefined,
          registryCheck: o['registryCheck'] !== false,
          offline: Boolean(o['offline']),
          assumeMissing: Boolean(o['assumeMissing']),
          ...(await specVcs(l.manifest)),
          // A dry run's plan is its result; with --json the JSON document is the only stdout.
          log: (line) => (o['dryRun'] && !out.opts.json ? out.result(line) : out.info(line)),
        }, lockChoice(o));
      }
    });


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

  addSetOption(addShardOptions(addSelectionOptions(
    program
      .command('bake')
      .description('export the selected builds as a docker-bake.json for docker buildx bake')
      .argument('[package]'),
  )))
    .addOption(new Option('--parent-mode <mode>', 'how children get their parent: target: contexts (BuildKit ≥ 0.10) or build args').choices(['auto', 'contexts', 'args']).default('auto'))
    .option('--builder <name>', 'builder whose BuildKit decides --parent-mode auto')
    .option('--staging-repository <repo>', 'where per-platform images go (default: the first publish registry)')
    .option('--load', 'load into the local engine instead of pushing')
    .option('--file <path>', 'write here instead of stdout')
    .option('--target-version <version>', 'override the spec version')
    .option('--output <dir>', 'generated root (default: <spec root>/generated)')
    .option('--provenance <value>', 'attest provenance (as buildx --provenance)')
    .option('--sbom <value>', 'attest an SBOM (as buildx --sbom)')
    .option('--cache-from <spec>', 'as for build (repeatable)', (v: string, p: string[] = []) => [...p, v])
    .option('--cache-to <spec>', 'as for build (repeatable)', (v: string, p: string[] = []) => [...p, v])
    .option('--pull', 'targets get pull: true')
    .option('--no-cache', 'targets get no-cache: true')
    .action(async (pkg: string | undefined, o: Record<string, unknown>, cmd: Command) => {
      const l = load(cmd.optsWithGlobals(), packageArg(pkg, o['target'] as string[] | undefined), o, out);
      const selected = shardFrom(l.plan, selectTasks(l.plan, selectionFrom(o)), o);
      let mode = o['parentMode'] as 'auto' | ParentMode;
      if (mode === 'auto') {
        const info = await inspectBuilder(o['builder'] as string | undefined);
        mode = supportsNamedContexts(info) ? 'contexts' : 'args';
        out.info(`builder ${info.name} runs BuildKit ${info.buildkit ?? 'unknown'}: parents passed as ${mode === 'contexts' ? 'target: contexts' : 'build args (bake the level0, level1, … groups in order)'}`);
      }
      const file = o['file'] ? resolve(String(o['file'])) : undefined;
      const state = readState(l.packageDir);
      const doc = bakeFile(l.plan, {
        selected,
        packageDir: l.packageDir,
        // buildx resolves contexts against the directory bake runs in: run it where this ran.
        bakeDir: process.cwd(),
        stagingRepo: stagingRepository(l.plan, o['stagingRepository'] as string | undefined) ?? localRepository(l.plan),
        parentMode: mode,
        push: !o['load'],
        records: new Map(Object.entries(state.tasks)),
        ...(await specVcs(l.manifest)),
        ...attestations(l.plan.spec.build.attest, { provenance: o['provenance'] as string | undefined, sbom: o['sbom'] as string | undefined }),
        ...cacheOptions(o),
      });
      const text = JSON.stringify(doc, null, 2) + '\n';
      if (file) {
        writeFileAtomic(file, text);
        out.result(`${file}: ${Object.keys(doc.target).length} targets`);
      } else out.result(text);
    });

  const ci = program.command('ci').description('CI fan-out: job matrices and a GitHub Actions workflow');
  addSelectionOptions(
    ci
      .command('matrix')
      .description('print the job matrix (JSON for fromJSON) of builds the registry does not have yet, one job per chain')
      .argument('[package]'),
  )
    .option('--staging-repository <repo>', 'staging repository (default: the first publish registry\'s)')
    .option('--assume-missing', 'a build whose lookup fails (after retries) goes into the matrix instead of failing the plan')
    .option('--github-output', 'write matrix0…matrixN-1 to $GITHUB_OUTPUT (for the generated workflow) instead of printing')
    .option('--batches <n>', `with --github-output: split the jobs into N matrices of at most ${MATRIX_LIMIT} (GitHub's limit)`, positiveInt, 1)
    .option('--target-version <version>', 'override the spec version')
    .action(async (pkg: string | undefined, o: Record<string, unknown>, cmd: Command) => {
      const l = load(cmd.optsWithGlobals(), packageArg(pkg, o['target'] as string[] | undefined), o, out);
      const selected = selectTasks(l.plan, selectionFrom(o));
      const repo = stagingRepository(l.plan, o['stagingRepository'] as string | undefined);
      if (!repo) throw new UsageError('the spec publishes to no registry, so there is nothing to compare with');
      const client = registryClient({ log: (x) => out.info(x) });
      try {
        const found = await changedBuilds(l.plan, selected, repo, client, { assumeMissing: Boolean(o['assumeMissing']) });
        if (found.failed.size) {
          throw new WorkError(`the registry could not answer for ${found.failed.size} build${found.failed.size === 1 ? '' : 's'}; no matrix was printed`, lookupFailures(found.failed, client.unreachable()));
        }
        const matrix = ciMatrix(l.plan, selected, found.changed);
        if (o['githubOutput']) {
          // Straight into $GITHUB_OUTPUT, one output per batch: no shell pipeline to hide a failure.
          const file = process.env['GITHUB_OUTPUT'];
          if (!file) throw new UsageError('--github-output needs $GITHUB_OUTPUT (it is set inside GitHub Actions)');
          const batches = matrixBatches(matrix, o['batches'] as number);
          appendFileSync(file, redactor.redact(batches.map((b, i) => `matrix${i}=${JSON.stringify(redactor.redactDeep(b))}\n`).join('')));
          if (out.opts.json) out.json({ ok: true, jobs: matrix.include.length, batches: batches.length, matrix });
          else out.result(`${matrix.include.length} job${matrix.include.length === 1 ? '' : 's'} in ${batches.length} batch${batches.length === 1 ? '' : 'es'}`);
          // Without --json the matrix itself, as GitHub's fromJSON reads it.
        } else if (out.opts.json) out.json({ ok: true, jobs: matrix.include.length, matrix });
        else out.result(JSON.stringify(matrix));
      } finally {
        await client.close();
      }
    });
  addSelectionOptions(
    ci
      .command('github')
      .description('write (or print) a GitHub Actions workflow: plan → per-chain build jobs → publish; selection flags limit what it builds')
      .argument('<package>'),
  )
    .option('--write [file]', 'write the workflow (default .github/workflows/<package>-images.yml in the repository)')
    .action((pkg: string, o: Record<string, unknown>, cmd: Command) => {
      const l = load(cmd.optsWithGlobals(), pkg, {}, out);
      const sel = selectionFrom(o);
      // Checked now, so a workflow never carries a selection that matches nothing.
      const selected = selectTasks(l.plan, sel);
      // The workflow runs at the repository root, which the spec root may sit below.
      const repoRoot = gitRoot(l.root) ?? l.root;
      const rel = (p: string) => relative(repoRoot, p) || '.';
      const nodeDir = nodeProject(l.root, repoRoot);
      const paths = [
        ...l.plan.spec.source.files.map(rel),
        `${rel(l.plan.spec.templatesDir)}/**`,
        // A new manager can change what a build means (and its hashes).
        `${nodeDir === '.' ? '' : `${rel(join(repoRoot, nodeDir))}/`}package-lock.json`,
      ];
      const packageArgument = /\.ya?ml$/.test(pkg) ? rel(l.manifest) : pkg;
      const specDir = l.root === repoRoot ? undefined : rel(l.root);
      const text = githubWorkflow(l.plan, { packageArg: packageArgument, paths, specDir, nodeDir, selection: selectionArgs(sel), selected, credentialDefaults: credentialDefaults() });
      const file = o['write'] === undefined ? undefined : typeof o['write'] === 'string' ? resolve(o['write']) : join(repoRoot, '.github', 'workflows', `${l.plan.spec.package}-images.yml`);
      if (file) writeFileAtomic(file, text);
      if (out.opts.json) out.json({ ok: true, package: l.plan.spec.package, file: file ?? null, workflow: text });
      else out.result(file ?? text);
    });

  program
    .command('setup-qemu')
    .description('register QEMU binfmt handlers so the builder can run foreign platforms')
    .option('--platforms <list>', 'arm64,arm,ppc64le,s390x (default: all of them)')
    .action(async (o: Record<string, unknown>) => {
      const res = await setupQemu(o['platforms'] ? String(o['platforms']).split(',') : undefined, (l) => out.info(l));
      if (out.opts.json) out.json(res);
      else out.result(`emulators enabled: ${res.enabled.join(', ') || 'none'}${res.failed.length ? `; failed: ${res.failed.join(', ')}` : ''}`);
      if (res.failed.length) throw new Ended('failed');
    });

  const builder = program.command('builder').description('manage buildx builders (state never lives in the builder)');
  builder
    .command('create')
    .description('create a buildx builder: one node per --node, or one local node')
    .option('--name <name>', 'builder name', 'manager')
    .addOption(new Option('--driver <driver>', 'buildx driver').choices(['docker-container', 'remote', 'kubernetes']).default('docker-container'))
    .option('--node <platform=endpoint>', 'a node for one platform, e.g. linux/arm64=ssh://arm-host (repeatable)', (v: string, p: string[] = []) => [...p, v])
    .option('--driver-opt <opt>', 'passed to buildx as --driver-opt (repeatable)', (v: string, p: string[] = []) => [...p, v])
    .option('--use', 'make it the default builder')
    .action(async (o: Record<string, unknown>) => {
      const nodes = ((o['node'] as string[] | undefined) ?? []).map(parseNode);
      const res = await createBuilder({
        name: String(o['name']),
        driver: o['driver'] as 'docker-container',
        nodes,
        driverOpts: (o['driverOpt'] as string[] | undefined) ?? [],
        use: Boolean(o['use']),
      }, (l) => out.info(l));
      out.result(`builder ${res.name}: ${res.nodes} node(s), driver ${res.driver}`);
    });

  program
    .command('authenticate')
    .description('log in to the package\'s registries with credentials from the environment or $MANAGER_ROOT/.env')
    .argument('<package>')
    .option('--registry <names>', 'only these registries (names or hosts), comma-separated')
    .option('--all', 'every registry the package publishes to (the default)')
    .action(async (pkg: string, o: Record<string, unknown>, cmd: Command) => {
      const l = load(cmd.optsWithGlobals(), pkg, {}, out);
      const names = o['registry'] ? String(o['registry']).split(',').map((s) => s.trim()) : undefined;
      const res = await authenticate(l.plan.spec, { root: l.root, envFile: l.envFile, out, registries: names });
      if (out.opts.json) out.json({ ok: true, logins: res.map((r) => ({ host: r.host, username: r.username })) });
      else out.result(res.map((r) => `logged in to ${r.host} as ${r.username}`).join('\n') || 'no registry to log in to');
    });

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

function withCache(l: Loaded, type: CacheSpec['type']): Loaded {
  const spec = { ...l.plan.spec, build: { ...l.plan.spec.build, cache: { type } } };
  return { ...l, plan: { ...l.plan, spec } };
}

/** GitHub's cache service is there when its runtime token and URL are (exposed to run steps by the workflow). */
export function ghaAvailable(env: NodeJS.ProcessEnv): boolean {
  return Boolean(env['ACTIONS_RUNTIME_TOKEN'] && (env['ACTIONS_CACHE_URL'] || env['ACTIONS_RESULTS_URL']));
}

/** `--cache-from`, `--cache-to`, `--pull`, `--no-cache` as the run and bake take them. */
export function cacheOptions(o: Record<string, unknown>): Pick<ExecuteOptions, 'cacheOverride' | 'pull' | 'noCache'> {
  const from = (o['cacheFrom'] as string[] | undefined) ?? [];
  const to = (o['cacheTo'] as string[] | undefined) ?? [];
  return {
    ...(from.length || to.length ? { cacheOverride: { from, to } } : {}),
    ...(o['pull'] ? { pull: true } : {}),
    // commander's --no-cache sets cache: false.
    ...(o['cache'] === false ? { noCache: true } : {}),
  };
}

function multiPlatformOption(): Option {
  return new Option('--multi-platform <mode>', 'one build per platform merged by a manifest (split), one build for all platforms (single), or what the builder can do (auto; default: spec build.multi_platform)').choices(['auto', 'single', 'split']);
}

/**
 * Plans for the builder at hand. Unless split is fixed, the builder is asked what it can do
 * first: that decides whether an image's platforms are one build or several, so the graph's shape.
 */
async function planForBuilder(s: LoadedSpec, o: Record<string, unknown>, out: Output): Promise<{ l: Loaded; builder?: BuilderInfo }> {
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

/**
 * Runs a selection with the settings every command shares, prints the summary, sets the exit
 * code. Everything but a dry run holds the generated tree's lock: it writes state and logs.
 */
async function runSelected(l: Loaded, out: Output, selected: Set<string>, opts: Partial<ExecuteOptions>, lockHow: LockChoice = { wait: false }): Promise<void> {
  const lock = opts.dryRun ? undefined : await takeLock(l.packageDir, out, lockHow);
  try {
    await runSelectedLocked(l, out, selected, opts);
  } finally {
    lock?.release();
  }
}

async function runSelectedLocked(l: Loaded, out: Output, selected: Set<string>, opts: Partial<ExecuteOptions>): Promise<void> {
  // A render would stop at a file manager did not write: refused before anything runs, as generate does.
  if (!opts.dryRun) {
    const renders = [...selected].map((id) => l.plan.tasks.get(id)!).filter((t): t is RenderTask => t.kind === 'render');
    foreignInTheWay(l.packageDir, renders, readState(l.packageDir), Boolean(opts.adopt));
  }
  const shown = progressChoice(out.opts.progress ?? (out.opts.json ? 'quiet' : 'auto'), { isTTY: Boolean(process.stderr.isTTY), ci: Boolean(process.env['CI']) }, out.opts.quiet);
  const summary = await execute(l.plan, {
    packageDir: l.packageDir,
    logDir: join(l.packageDir, '.logs'),
    selected,
    mode: 'push',
    maxWorkers: l.plan.spec.build.maxWorkers,
    dryRun: false,
    force: false,
    keepGoing: false,
    atomic: false,
    registryCheck: true,
    renderer: shown.renderer,
    ...(shown.events ? { events: (line: string) => process.stderr.write(redactor.redact(line) + '\n') } : {}),
    pushReadme: readmePusher(l.plan.spec, { root: l.root, envFile: l.envFile, out }),
    log: (line) => out.info(line),
    ...opts,
  });
  // A record that cannot be written (a full disk, a read-only mount) fails the run, but only
  // after the summary: what ran is still said, and each such file gets one line naming it.
  const writeErrors = [...(summary.writeErrors ?? [])];
  const attempt = (what: string, path: string, write: () => void): boolean => {
    try {
      write();
      return true;
    } catch (e) {
      const w = fsFailure(e, what, path);
      if (!(w instanceof WorkError)) throw w;
      writeErrors.push(w.message);
      return false;
    }
  };
  if (summary.report) {
    // Every real run leaves its picture beside its state: .manager/report.html and report.md.
    const dir = join(l.packageDir, '.manager');
    // The data first (the page escapes and the chart mangles what it shows), the page after.
    const data = redactor.redactDeep(summary.report);
    const html = join(dir, 'report.html');
    const wrote = attempt('write the report', html, () => writeFileAtomic(html, redactor.redact(reportHtml(data, { at: dir, mode: opts.mode ?? 'push' }))));
    const md = join(dir, 'report.md');
    attempt('write the report', md, () => writeFileAtomic(md, redactor.redact(reportMarkdown(data))));
    if (wrote) out.info(`report: ${relative(process.cwd(), html) || html}`);
  }
  if (opts.metadataFile && !opts.dryRun && summary.metadata) {
    // Written after failures too: each image's status says how far it got.
    const file = resolve(opts.metadataFile);
    attempt('write the metadata file', file, () => writeFileAtomic(file, redactor.redact(`${JSON.stringify(redactor.redactDeep(summary.metadata), null, 2)}\n`)));
  }
  report(summary, out, Boolean(opts.dryRun), writeErrors);
  if (opts.dryRun && !out.opts.json) {
    out.result(`dry run: nothing was run or written; ${summary.registry.consulted ? 'decisions consulted the registry (read-only), as a real run does' : `the registry was not consulted (${summary.registry.why})`}`);
  }
  for (const w of writeErrors) out.error(`error: ${w}`);
  // A record that could not be written fails the run; a signal's code still wins.
  const outcome = runOutcome(summary) ?? (writeErrors.length ? 'failed' : undefined);
  if (outcome) throw new Ended(outcome);
}

/** One symbol per status, so a glance at the table tells failed from cancelled from not started. */
export const STATUS_SYMBOL: Record<string, string> = {
  built: '✔', ran: '✔', skipped: '↷', failed: '✖', 'timed-out': '⏱', cancelled: '■', 'not-started': '○', blocked: '⊘', 'would-run': '▸', 'would-fail': '✖',
};

/** The closing line; its first symbol is the outcome (done, failed, interrupted). */
export function countLine(s: Pick<Summary, 'ok' | 'interrupted' | 'results'>): string {
  const by = (...st: string[]) => s.results.filter((r) => st.includes(r.status)).length;
  const outcome = s.interrupted ? `■ interrupted by ${s.interrupted}` : s.ok ? '✔ done' : '✖ failed';
  return `${outcome}: ${by('built')} built, ${by('ran')} ran, ${by('skipped')} skipped, ${by('failed', 'timed-out')} failed, ${by('cancelled')} cancelled, ${by('blocked')} blocked, ${by('not-started')} not started`;
}

/** The reason a task has, and for a failure its cause: `exited 1: failed to push …: connection refused`. */
function why(r: Summary['results'][number]): string {
  const tries = r.attempts && r.attempts.length > 1 ? ` (${r.attempts.length} attempts: ${r.attempts.map((a) => `${(a.durationMs / 1000).toFixed(1)}s`).join(', ')})` : '';
  return `${r.reason ?? ''}${r.cause && !(r.reason ?? '').includes(r.cause) ? `: ${r.cause}` : ''}${tries}`;
}

/** Under GitHub Actions: error annotations, a log group per failed task, a step summary. */
export function githubReport(s: Summary, env: NodeJS.ProcessEnv = process.env, token = randomBytes(16).toString('hex')): { stdout: string[]; summary?: string } {
  const lines: string[] = [];
  for (const r of s.results.filter((x) => x.status === 'failed' || x.status === 'timed-out')) {
    lines.push(`::error title=${escapeData(r.id)}::${escapeData(why(r) || r.status)}`);
    if (r.log && existsSync(r.log)) {
      // A build's output is not ours: GitHub runs no workflow command in it between these markers.
      lines.push(`::group::${r.id} log`, `::stop-commands::${token}`, ...readFileSync(r.log, 'utf8').trimEnd().split('\n').slice(-200), `::${token}::`, '::endgroup::');
    }
  }
  if (!env['GITHUB_STEP_SUMMARY']) return { stdout: lines };
  const md = [
    `### manager build: ${s.ok ? 'succeeded' : 'failed'}`,
    '',
    countLine(s),
    '',
    '| status | task | time | hash | digest | reason |',
    '|---|---|---|---|---|---|',
    ...s.results.map((r) => `| ${STATUS_SYMBOL[r.status] ?? ''} ${r.status} | \`${r.id}\` | ${r.durationMs ? `${(r.durationMs / 1000).toFixed(1)}s` : ''} | \`${short(r.hash)}\` | ${r.digest ? `\`${r.digest.slice(7, 19)}\`` : ''} | ${why(r).replace(/\|/g, '\\|')} |`),
    '',
  ].join('\n');
  return { stdout: lines, summary: s.report ? `${reportMarkdown(redactor.redactDeep(s.report))}\n${md}` : md };
}

function report(s: Summary, out: Output, dryRun: boolean, writeErrors: string[] = []): void {
  if (process.env['GITHUB_ACTIONS'] === 'true' && !dryRun) {
    const gh = githubReport(s);
    for (const l of gh.stdout) out.error(l);
    const file = process.env['GITHUB_STEP_SUMMARY']!;
    try {
      if (gh.summary) appendFileSync(file, redactor.redact(gh.summary));
    } catch (e) {
      const w = fsFailure(e, 'append to the step summary', file);
      if (!(w instanceof WorkError)) throw w;
      writeErrors.push(w.message);
    }
  }
  if (out.opts.json) {
    out.json({ ok: s.ok && !writeErrors.length, dryRun, interrupted: s.interrupted ?? false, engineLost: s.engineLost ?? null, registry: s.registry, builder: s.builder ?? null, tasks: s.results, ...(writeErrors.length ? { writeErrors } : {}) });
    if (s.engineLost) out.error(`error: ${s.engineLost}`);
    return;
  }
  if (dryRun) return;
  const rows = s.results.map((r) => [`${STATUS_SYMBOL[r.status] ?? ' '} ${r.status}`, r.id, r.durationMs ? `${(r.durationMs / 1000).toFixed(1)}s` : '-', short(r.hash), r.digest ? r.digest.slice(7, 19) : '', why(r)]);
  const widths = [0, 1, 2, 3, 4].map((i) => Math.max(...rows.map((r) => r[i]!.length), ['status', 'task', 'time', 'hash', 'digest'][i]!.length));
  const line = (r: string[]) => r.map((c, i) => (i < 5 ? c.padEnd(widths[i]!) : c)).join('  ').trimEnd();
  out.result([line(['status', 'task', 'time', 'hash', 'digest', 'reason']), ...rows.map(line)].join('\n'));
  // Where to read more: the log of each failure.
  for (const r of s.results) if ((r.status === 'failed' || r.status === 'timed-out') && r.log) out.result(`${STATUS_SYMBOL[r.status]} ${r.id}: log ${r.log}`);
  // A record that could not be written fails the run: the closing line says so too.
  out.result(countLine({ ...s, ok: s.ok && !writeErrors.length }));
  if (!s.ok) {
    for (const r of s.results.filter((x) => x.status === 'failed' || x.status === 'timed-out')) {
      out.error(`FAILED ${r.id}: ${r.reason}${r.log ? `\n  log: ${r.log}` : ''}`);
    }
  }
  if (s.engineLost) out.error(`error: ${s.engineLost}`);

}
