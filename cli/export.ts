// `manager export library`: the official-images library file for a package whose generated
// tree is committed to git (each image's directory at the commit that last changed it).
import { join, relative } from 'node:path';
import type { Command } from 'commander';
import { UsageError, WorkError } from '../core/base/errors.ts';
import { libraryEntries, libraryFile } from '../core/views/library.ts';
import { writeFileAtomic, hasContent } from '../tasks/atomic.ts';
import { gitFacts } from '../tasks/library.ts';
import type { Output } from './output.ts';
import { load } from './workspace.ts';

export function registerExportCommands(program: Command, out: Output): void {
  const exp = program.command('export').description('the package in other tools\' formats');
  exp
    .command('library')
    .description('write the official-images library file (Tags, SharedTags, Architectures, GitCommit, Directory per image) of a committed generated tree')
    .argument('<package>')
    .option('--output <dir>', 'generated root (default: <spec root>/generated)')
    .option('--file <path>', 'write here instead of stdout')
    .option('--target-version <version>', 'override the spec version')
    .action(async (pkg: string, o: Record<string, unknown>, cmd: Command) => {
      const l = load(cmd.optsWithGlobals(), pkg, o, out);
      const { plan } = l;
      if (!plan.spec.library) throw new UsageError('the spec has no `library:` section (maintainers, git_repo): the library file starts with them');
      // The file points at directories by commit: they must hold what the spec generates now.
      const stale = [...plan.tasks.values()].flatMap((t) => (t.kind === 'render' && t.dir ? t.files.filter((f) => !hasContent(join(l.packageDir, f.path), f.bytes ?? f.content, f.mode ?? 0o644)).map((f) => f.path) : []));
      if (stale.length) throw new WorkError(`the generated tree is not what the spec generates (${stale.length} file${stale.length === 1 ? '' : 's'}, e.g. ${stale[0]}): run \`manager generate ${pkg}\` and commit it first`);
      const dirs = [...new Set(plan.variants.map((v) => v.dir))];
      const git = await gitFacts(l.packageDir, dirs);
      const text = libraryFile(
        { ...plan.spec.library, source: relative(l.root, l.manifest).split('\\').join('/') },
        libraryEntries(plan, git.commitOf, git.pathOf),
      );
      if (o['file']) {
        writeFileAtomic(String(o['file']), text);
        out.result(String(o['file']));
      } else out.result(text.replace(/\n$/, ''));
    });
}
