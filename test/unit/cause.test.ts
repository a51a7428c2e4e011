// The cause of a failure, as the summary states it, from what the failed command printed.
import { describe, expect, it } from 'vitest';
import { countLine } from '../../cli/build.ts';
import { causeOf } from '../../core/views/cause.ts';

describe('causeOf', () => {
  it('BuildKit: the final ERROR line, not the step echo or the context lines', () => {
    const out = [
      '#11 exporting to image',
      '#11 pushing layers',
      '#11 ERROR: failed to push 127.0.0.1:5566/x/y-staging:build-amd64-ab: failed to do request: Head "http://127.0.0.1:5566/v2/x/y-staging/blobs/sha256:1": dial tcp 127.0.0.1:5566: connect: connection refused',
      '------',
      ' > exporting to image:',
      '------',
      'ERROR: failed to solve: failed to push 127.0.0.1:5566/x/y-staging:build-amd64-ab: dial tcp 127.0.0.1:5566: connect: connection refused',
      '# exit 1 after 3.2s',
    ].join('\n');
    expect(causeOf(out)).toBe('failed to solve: failed to push 127.0.0.1:5566/x/y-staging:build-amd64-ab: dial tcp 127.0.0.1:5566: connect: connection refused');
  });

  it('a RUN step that failed: BuildKit says which command and its exit code', () => {
    const out = '#7 [2/2] RUN false\n#7 ERROR: process "/bin/sh -c false" did not complete successfully: exit code: 1\n------\n > [2/2] RUN false:\n------\nDockerfile:3\n--------------------\n   1 | FROM x\nERROR: failed to solve: process "/bin/sh -c false" did not complete successfully: exit code: 1\n';
    expect(causeOf(out)).toBe('failed to solve: process "/bin/sh -c false" did not complete successfully: exit code: 1');
  });

  it('the daemon, a registry status, a bare refused connection', () => {
    expect(causeOf('Unable to find image\ndocker: Error response from daemon: pull access denied for x, repository does not exist or may require \'docker login\'.\n')).toBe('pull access denied for x, repository does not exist or may require \'docker login\'.');
    expect(causeOf('#1 resolving\nunexpected status from PUT request to https://r/v2/x/manifests/t: 500 Internal Server Error\n')).toBe('unexpected status from PUT request to https://r/v2/x/manifests/t: 500 Internal Server Error');
    expect(causeOf('Get "https://r/v2/": dial tcp 10.0.0.1:443: i/o timeout\n')).toBe('dial tcp 10.0.0.1:443: i/o timeout');
  });

  it('nothing that looks like a cause: undefined, never a made-up one; long causes are cut', () => {
    expect(causeOf('#1 DONE 0.1s\nall good\n')).toBeUndefined();
    expect(causeOf(`ERROR: ${'x'.repeat(500)}`)!.length).toBe(300);
  });
});

describe('the closing line', () => {
  const r = (status: string) => ({ id: status, kind: 'build' as const, status: status as never, durationMs: 0, hash: 'h' });
  it('starts with the outcome, and counts cancelled apart from not started', () => {
    const results = [r('built'), r('skipped'), r('cancelled'), r('not-started'), r('not-started'), r('failed'), r('timed-out'), r('blocked')];
    expect(countLine({ ok: false, interrupted: 'SIGINT', results })).toBe('■ interrupted by SIGINT: 1 built, 0 ran, 1 skipped, 2 failed, 1 cancelled, 1 blocked, 2 not started');
    expect(countLine({ ok: false, results })).toMatch(/^✖ failed: /);
    expect(countLine({ ok: true, results: [r('built')] })).toBe('✔ done: 1 built, 0 ran, 0 skipped, 0 failed, 0 cancelled, 0 blocked, 0 not started');
  });
});
