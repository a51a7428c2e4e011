// ci matrix and ci github: the CI fan-out.
import { appendFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import type { Command } from 'commander';
import { UsageError, WorkError } from '../core/base/errors.ts';
import { redactor } from '../core/base/redact.ts';
import { stagingRepository } from '../core/plan/staging.ts';
import { selectTasks } from '../core/plan/select.ts';
import { ciMatrix, MATRIX_LIMIT, matrixBatches } from '../core/views/ci.ts';
import { githubWorkflow } from '../core/views/workflow.ts';
import { DRIVERS } from '../registries/index.ts';
import { writeFileAtomic } from '../tasks/atomic.ts';
import { registryClient } from '../tasks/registry.ts';
import { changedBuilds } from '../tasks/staged.ts';
import { positiveInt } from './build-options.ts';
import type { Output } from './output.ts';
import { addSelectionOptions, selectionArgs, selectionFrom } from './selection.ts';
import { gitRoot, load, nodeProject, packageArg } from './workspace.ts';

/** Each registry kind's credential variables, from the one table the drivers keep. */
const credentialDefaults = () => Object.fromEntries(Object.entries(DRIVERS).map(([k, d]) => [k, d.defaultCredentials])) as Parameters<typeof githubWorkflow>[1]['credentialDefaults'];

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

export function registerCiCommands(program: Command, out: Output): void {
  const ci = program.command('ci').description('CI fan-out: job matrices and a GitHub Actions workflow');
  registerMatrix(ci, out);
  registerGithub(ci, out);
}

function registerMatrix(ci: Command, out: Output): void {
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
        if (found.assumed.size) {
          // A private repository refuses anonymous lookups: the matrix then holds every selected chain.
          const n = found.assumed.size;
          out.diagnostics([{ severity: 'warning', path: '', message: `the registry could not answer for ${n} build${n === 1 ? '' : 's'}; --assume-missing puts ${n === 1 ? 'it' : 'them'} in the matrix as if absent: ${lookupFailures(found.assumed, client.unreachable()).split('\n').map((x) => x.trim()).join('; ')}` }]);
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
}

function registerGithub(ci: Command, out: Output): void {
  addSelectionOptions(
    ci
      .command('github')
      .description('write (or print) a GitHub Actions workflow: plan → per-chain build jobs → publish; selection flags limit what it builds')
      .argument('<package>'),
  )
    .option('--write [file]', 'write the workflow (default .github/workflows/<package>-images.yml in the repository)')
    .option('--output <dir>', 'generated root the workflow\'s builds write (default: the layout\'s), e.g. the repository root for a spec with output.directory "."')
    .action((pkg: string, o: Record<string, unknown>, cmd: Command) => {
      const l = load(cmd.optsWithGlobals(), pkg, { output: o['output'] as string | undefined }, out);
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
      // The builds run at the repository root, so the generated root is named from there.
      const output = o['output'] === undefined ? undefined : rel(resolve(String(o['output'])));
      if (output?.startsWith('..')) throw new UsageError(`--output ${String(o['output'])} is outside the repository ${repoRoot}, where the workflow runs`);
      const text = githubWorkflow(l.plan, { packageArg: packageArgument, paths, specDir, nodeDir, output, selection: selectionArgs(sel), selected, credentialDefaults: credentialDefaults() });
      const file = o['write'] === undefined ? undefined : typeof o['write'] === 'string' ? resolve(o['write']) : join(repoRoot, '.github', 'workflows', `${l.plan.spec.package}-images.yml`);
      if (file) writeFileAtomic(file, text);
      if (out.opts.json) out.json({ ok: true, package: l.plan.spec.package, file: file ?? null, workflow: text });
      else out.result(file ?? text);
    });
}
