// Floating inputs on the command line: `lock` pins them, `outdated` says which moved upstream
// and what would rebuild, and `build --refresh` (through refreshLock) re-pins before planning.
import { relative } from 'node:path';
import type { Command } from 'commander';
import { Ended, EXIT_CODES, WorkError } from '../core/base/errors.ts';
import { floatingInputs } from '../core/matrix/floating.ts';
import { formatLockFile, lockChanges, lockPath, type LockChange, type LockFile } from '../core/load/lock-file.ts';
import { planSpec } from '../core/plan/plan.ts';
import type { Spec } from '../core/load/spec.ts';
import { writeFileAtomic } from '../tasks/atomic.ts';
import { registryClient } from '../tasks/registry.ts';
import { resolveInputs } from '../tasks/resolve.ts';
import type { Output } from './output.ts';
import { loadPackage, packageArg, type LoadedSpec } from './workspace.ts';

/** `manager outdated` exits with this when something upstream moved (0: current). */
export const EXIT_OUTDATED = EXIT_CODES.outdated;

/** Resolves a spec's floating inputs now; every unresolvable one is named in one error. */
async function resolveNow(spec: Spec, out: Output): Promise<LockFile> {
  const plan = planSpec({ ...spec, lock: undefined }, [], { multiPlatform: 'split' });
  const inputs = floatingInputs(spec, plan.variants);
  const client = registryClient({ log: (l) => out.info(l) });
  try {
    const r = await resolveInputs(inputs, client);
    if (r.problems.length) {
      throw new WorkError(`${spec.package}: ${r.problems.length} floating input${r.problems.length === 1 ? '' : 's'} could not be resolved; the lock file was not changed`, r.problems.map((p) => `  ${p}`).join('\n'));
    }
    return { file: lockPath(spec.source.manifest), ...r.lock };
  } finally {
    await client.close();
  }
}

function describe(c: LockChange): string {
  const s = (d?: string) => (d ? (d.startsWith('sha256:') ? d.slice(0, 19) : d.slice(0, 12)) : 'none');
  return `${c.input}  ${s(c.before)} -> ${s(c.after)}`;
}

/** Writes the lock file (atomically: never half-written) and returns what changed. */
function writeLock(spec: Spec, lock: LockFile): LockChange[] {
  const changes = lockChanges(spec.lock, lock);
  writeFileAtomic(lock.file, formatLockFile(lock));
  return changes;
}

/** `build --refresh`: re-resolve, update the lock file (not in a dry run), and plan with it. */
export async function refreshLock(s: LoadedSpec, out: Output, o: { write: boolean }): Promise<LoadedSpec> {
  const lock = await resolveNow(s.spec, out);
  const changes = lockChanges(s.spec.lock, lock);
  if (o.write) writeFileAtomic(lock.file, formatLockFile(lock));
  const name = relative(process.cwd(), lock.file) || lock.file;
  out.info(`${o.write ? 'refreshed' : 'dry run: would refresh'} ${name}: ${changes.length ? `${changes.length} input${changes.length === 1 ? '' : 's'} moved` : 'nothing moved upstream'}`);
  for (const c of changes) out.info(`  ${describe(c)}`);
  return { ...s, spec: { ...s.spec, lock } };
}

/** Images whose build hashes change when the lock does: what a build would redo. */
function wouldRebuild(spec: Spec, lock: LockFile): { image: string; tags: string[] }[] {
  const before = planSpec(spec, [], { multiPlatform: 'split' });
  const after = planSpec({ ...spec, lock }, [], { multiPlatform: 'split' });
  const out: { image: string; tags: string[] }[] = [];
  for (const t of after.tasks.values()) {
    if (t.kind !== 'manifest' || before.tasks.get(t.id)?.hash.value === t.hash.value) continue;
    out.push({ image: t.variant, tags: t.tags });
  }
  return out;
}

export function registerInputCommands(program: Command, out: Output): void {
  program
    .command('lock')
    .description('resolve every external base image (per platform) and floating git ref to a digest or commit, and write the lock file beside the manifest')
    .argument('<packages...>')
    .option('--target-version <version>', 'override the spec version')
    .action(async (pkgs: string[], o: Record<string, unknown>, cmd: Command) => {
      const results = [];
      for (const pkg of pkgs) {
        const s = loadPackage(cmd.optsWithGlobals(), packageArg(pkg, undefined), o, out);
        const lock = await resolveNow(s.spec, out);
        const changes = writeLock(s.spec, lock);
        results.push({ package: s.spec.package, lockFile: lock.file, images: Object.keys(lock.images).length, gitRefs: Object.values(lock.git).reduce((n, r) => n + Object.keys(r).length, 0), changes });
      }
      if (out.opts.json) {
        out.json({ schemaVersion: 1, packages: results });
        return;
      }
      for (const r of results) {
        out.result(`${relative(process.cwd(), r.lockFile) || r.lockFile}: ${r.images} base image${r.images === 1 ? '' : 's'}, ${r.gitRefs} git ref${r.gitRefs === 1 ? '' : 's'}; ${r.changes.length ? `${r.changes.length} changed` : 'unchanged'}`);
        for (const c of r.changes) out.result(`  ${describe(c)}`);
      }
    });

  program
    .command('outdated')
    .description(`list base images and git refs that moved upstream since the lock, and the images that would rebuild (exit ${EXIT_OUTDATED} when any moved)`)
    .argument('<packages...>')
    .option('--target-version <version>', 'override the spec version')
    .action(async (pkgs: string[], o: Record<string, unknown>, cmd: Command) => {
      const results = [];
      for (const pkg of pkgs) {
        const s = loadPackage(cmd.optsWithGlobals(), packageArg(pkg, undefined), o, out);
        const fresh = await resolveNow(s.spec, out);
        const changes = lockChanges(s.spec.lock, fresh);
        results.push({ package: s.spec.package, lockFile: s.spec.lock?.file ?? null, current: changes.length === 0, changes, rebuild: changes.length ? wouldRebuild(s.spec, fresh) : [] });
      }
      const outdated = results.some((r) => !r.current);
      if (out.opts.json) {
        out.json({ schemaVersion: 1, packages: results });
        if (outdated) throw new Ended('outdated');
        return;
      }
      for (const r of results) {
        if (r.current) {
          out.result(`${r.package}: current (every base image and git ref is where the lock file says)`);
          continue;
        }
        out.result(`${r.package}: ${r.changes.length} input${r.changes.length === 1 ? '' : 's'} moved${r.lockFile ? '' : ' (no lock file yet: run `manager lock`)'}`);
        for (const c of r.changes) out.result(`  ${describe(c)}`);
        out.result(`  would rebuild ${r.rebuild.length} image${r.rebuild.length === 1 ? '' : 's'}${r.rebuild.length ? ':' : ''}`);
        for (const x of r.rebuild) out.result(`    ${x.image}${x.tags.length ? ` (${x.tags[0]}${x.tags.length > 1 ? `, +${x.tags.length - 1}` : ''})` : ''}`);
      }
      if (outdated) throw new Ended('outdated');
    });
}
