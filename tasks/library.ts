// The facts `export library` needs from git: which repository holds the generated tree, and
// the last commit that changed each image's directory (refusing uncommitted changes, which no
// GitCommit would hold). Programs run through the runner, with argv from core/views/library.ts.
import { relative, resolve } from 'node:path';
import { nestedDirectories } from '../core/load/layout.ts';
import { gitLastCommitArgv, gitStatusArgv, gitTopLevelArgv } from '../core/views/library.ts';
import { WorkError } from '../core/base/errors.ts';
import { run } from './runner.ts';

export interface GitFacts {
  /** The repository root, and each directory's path inside it. */
  root: string;
  pathOf: (dir: string) => string;
  commitOf: (dir: string) => string;
}

export async function gitFacts(packageDir: string, dirs: string[]): Promise<GitFacts> {
  const top = await run(gitTopLevelArgv(packageDir));
  if (top.exitCode !== 0) throw new WorkError(`${packageDir} is not in a git repository: the library file names each directory by the commit that holds it; commit the generated tree first`);
  const root = top.stdout.trim();
  const pathOf = (dir: string) => relative(root, resolve(packageDir, dir)).split('\\').join('/') || '.';
  const commits = new Map<string, string>();
  const problems: string[] = [];
  for (const dir of dirs) {
    const path = pathOf(dir);
    // Image directories inside this one are theirs: their changes move their own GitCommit only.
    const nested = nestedDirectories(dir, dirs);
    const status = await run(gitStatusArgv(root, path, nested));
    if (status.exitCode !== 0) problems.push(`${path}: git status failed: ${status.stderr.trim()}`);
    else if (status.stdout.trim()) problems.push(`${path}: uncommitted changes (${status.stdout.trim().split('\n').length} files); commit the generated tree first`);
    const log = await run(gitLastCommitArgv(root, path, nested));
    const commit = log.stdout.trim();
    if (log.exitCode !== 0 || !/^[0-9a-f]{40,64}$/.test(commit)) {
      if (!status.stdout.trim()) problems.push(`${path}: no commit holds it; commit the generated tree first`);
    } else commits.set(dir, commit);
  }
  if (problems.length) throw new WorkError('the library file needs every image directory committed', problems.map((p) => `  ${p}`).join('\n'));
  return { root, pathOf, commitOf: (dir) => commits.get(dir)! };
}
