// Resolves floating inputs upstream, read-only: each base image tag to its digests per platform
// (registry API), each git ref to a commit (`git ls-remote`). Every problem is collected, so
// one run names every image, platform and ref that cannot be resolved.
import { commitFor, type FloatingInputs } from '../core/matrix/floating.ts';
import { isSafeGitUrl } from '../core/base/url.ts';
import type { LockedImage, LockFile } from '../core/load/lock-file.ts';
import { normalizePlatform } from '../core/base/manifest.ts';
import { RegistryError, type RegistryClient } from '../registries/distribution.ts';
import { resolveImage } from '../registries/images.ts';
import { run } from './runner.ts';

export interface Resolution {
  lock: Omit<LockFile, 'file'>;
  problems: string[];
}

export function lsRemoteArgv(url: string, refs: string[]): string[] {
  // ext:: and other command transports stay off; `--` ends the options before the URL.
  return ['git', '-c', 'protocol.ext.allow=never', 'ls-remote', '--', url, ...refs.flatMap((r) => [r, `refs/tags/${r}^{}`])];
}

export async function resolveInputs(inputs: FloatingInputs, client: RegistryClient): Promise<Resolution> {
  const lock: Resolution['lock'] = { images: {}, git: {} };
  const problems: string[] = [];
  await Promise.all([
    ...[...inputs.images].map(async ([image, wanted]) => {
      try {
        const found = await resolveImage(client, image);
        if (!found) {
          problems.push(`${image}: no such tag in its registry`);
          return;
        }
        const platforms: LockedImage['platforms'] = {};
        for (const p of [...wanted].sort()) {
          const d = found.platforms[normalizePlatform(p)];
          if (d) platforms[p] = d;
          else problems.push(`${image}: has no ${p} image (it has ${Object.keys(found.platforms).sort().join(', ') || 'no platform images'})`);
        }
        lock.images[image] = { digest: found.digest, platforms };
      } catch (e) {
        if (!(e instanceof RegistryError)) throw e;
        problems.push(`${image}: ${e.message}`);
      }
    }),
    ...[...inputs.git].map(async ([url, refs]) => {
      if (!isSafeGitUrl(url)) {
        problems.push(`${url}: not a git URL this tool passes to git (https://, ssh://, git://, file://, user@host:path or an absolute path)`);
        return;
      }
      const r = await run(lsRemoteArgv(url, [...refs]), { timeoutMs: 60_000, env: { GIT_TERMINAL_PROMPT: '0' } });
      if (r.exitCode !== 0) {
        problems.push(`${url}: git ls-remote failed: ${(r.stderr.trim().split('\n').pop() ?? `exit ${r.exitCode}`).slice(0, 300)}`);
        return;
      }
      for (const ref of [...refs].sort()) {
        const commit = commitFor(r.stdout, ref);
        if (commit) (lock.git[url] ??= {})[ref] = commit;
        else problems.push(`${url}: no branch or tag named "${ref}"`);
      }
    }),
  ]);
  problems.sort();
  return { lock, problems };
}
