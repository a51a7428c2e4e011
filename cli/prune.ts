// `manager prune`: staging tags no public tag references, older than a retention; a dry run
// unless --yes.
import type { Command } from 'commander';
import { Ended, UsageError } from '../core/base/errors.ts';
import { planSpec } from '../core/plan/plan.ts';
import { parseRetention } from '../core/plan/prune.ts';
import { publicationTag, stagingTag, testRecordTag } from '../core/plan/staging.ts';
import { prune } from '../tasks/prune.ts';
import { registryClient } from '../tasks/registry.ts';
import type { Output } from './output.ts';
import { loadPackage, packageArg, takeLock } from './workspace.ts';

export function registerPruneCommand(program: Command, out: Output): void {
  program
    .command('prune')
    .description('remove staging tags (build-…, test-…) that no public tag references and that are older than a retention; a dry run unless --yes')
    .argument('<package>')
    .option('--older-than <age>', 'retention: 14d, 36h, 90m, 0s', '14d')
    .option('--yes', 'delete; without it, only say what would go')
    .action(async (pkg: string, o: Record<string, unknown>, cmd: Command) => {
      const retentionMs = parseRetention(String(o['olderThan']));
      if (retentionMs === undefined) throw new UsageError(`bad --older-than "${String(o['olderThan'])}": expected a number and a unit (d, h, m, s), e.g. 14d`);
      const s = loadPackage(cmd.optsWithGlobals(), packageArg(pkg, undefined), {}, out);
      const client = registryClient({ log: (l) => out.info(l) });
      const yes = Boolean(o['yes']);
      // Deleting races a build that is about to reuse a staging tag: one at a time per tree.
      const lock = yes ? await takeLock(s.packageDir, out, false) : undefined;
      try {
        // Both plan shapes: whichever a builder picks, its staged images stay.
        const current = new Set<string>();
        for (const mode of ['split', 'single'] as const) {
          for (const t of planSpec(s.spec, [], { multiPlatform: mode }).tasks.values()) {
            if (t.kind === 'build') current.add(stagingTag(t));
            if (t.kind === 'test') current.add(testRecordTag(t));
            if (t.kind === 'manifest') current.add(publicationTag(t));
          }
        }
        const reports = await prune(s.spec, client, { now: Date.now(), retentionMs, yes, current });
        if (out.opts.json) {
          out.json({ schemaVersion: 1, dryRun: !yes, repositories: reports });
        } else {
          for (const r of reports) {
            const go = r.decisions.filter((d) => d.delete);
            const tags = (ds: typeof go) => ds.reduce((n, d) => n + d.tags.length, 0);
            out.result(`${r.repository}: ${r.decisions.length} images under ${tags(r.decisions)} staging tags; ${yes ? `deleted ${r.deleted.length} of ${go.length}` : `would delete ${go.length}`} (${tags(go)} tags), keeping ${r.decisions.length - go.length}`);
            for (const d of r.decisions) {
              const state = d.delete ? (yes ? (r.deleted.includes(d.digest) ? 'deleted' : 'not deleted') : 'delete') : 'keep';
              out.result(`  ${state.padEnd(11)} ${d.tags.join(', ')}  ${d.created?.slice(0, 10) ?? '?'}  (${d.why})`);
            }
            if (r.unsupported) out.error(`warning: ${r.unsupported}`);
          }
          if (!yes) out.result('dry run: nothing was deleted; pass --yes to delete');
        }
        if (reports.some((r) => r.unsupported)) throw new Ended('failed');
      } finally {
        lock?.release();
        await client.close();
      }
    });
}
