// A merge's tags in waves (no two pushes into one repository at once), and which tags a failed
// merge moved: the pure parts of publishing all or nothing.
import { describe, expect, it } from 'vitest';
import { mergeWaves } from '../../core/buildx/invocation.ts';
import { movedTags, type TagState } from '../../tasks/tag-rollback.ts';

describe('merge waves', () => {
  it('the first tag of each repository, then the rest: no repository gets two pushes at once', () => {
    expect(mergeWaves(['r/a/app:1', 'r/a/app:latest', 'q/a/app:1', 'r/a/app:1.0', 'q/a/app:latest'])).toEqual([
      ['r/a/app:1', 'q/a/app:1'],
      ['r/a/app:latest', 'r/a/app:1.0', 'q/a/app:latest'],
    ]);
    // The first wave fills each repository once; the second finds every manifest already there.
    const [first, rest] = mergeWaves(['r/a/app:1', 'r/a/app:2', 'r/b/app:1', 'r/a/app:3']);
    const repos = first!.map((ref) => ref.slice(0, ref.lastIndexOf(':')));
    expect(new Set(repos).size).toBe(repos.length);
    expect(rest).toEqual(['r/a/app:2', 'r/a/app:3']);
  });
  it('one tag per repository is one wave; one tag is one call', () => {
    expect(mergeWaves(['r/a/app:1', 'q/a/app:1'])).toEqual([['r/a/app:1', 'q/a/app:1']]);
    expect(mergeWaves(['r/a/app:1'])).toEqual([['r/a/app:1']]);
  });
  it('a port is part of the repository\'s host', () => {
    expect(mergeWaves(['127.0.0.1:5000/a:1', '127.0.0.1:5001/a:1'])).toEqual([['127.0.0.1:5000/a:1', '127.0.0.1:5001/a:1']]);
  });
});

describe('moved tags', () => {
  const s = (x: Record<string, TagState>) => new Map(Object.entries(x));
  it('a new digest or a new tag moved; an unchanged one did not; an unknown one is not assumed unchanged', () => {
    const before = s({ a: { digest: 'sha256:1' }, b: { digest: 'sha256:1' }, c: { absent: true }, d: { absent: true }, e: { unknown: 'x' } });
    const after = s({ a: { digest: 'sha256:2' }, b: { digest: 'sha256:1' }, c: { digest: 'sha256:2' }, d: { absent: true }, e: { digest: 'sha256:1' } });
    expect(movedTags(before, after)).toEqual(['a', 'c', 'e']);
  });
});
