import { describe, expect, it } from 'vitest';
import { finishedEvent, progressChoice, startedEvent } from '../../core/views/progress.ts';

describe('progressChoice', () => {
  const tty = { isTTY: true, ci: false };
  const log = { isTTY: false, ci: false };
  it('auto: a terminal gets the live view, a log or CI plain lines', () => {
    expect(progressChoice('auto', tty)).toEqual({ renderer: 'default', events: false });
    expect(progressChoice('auto', log)).toEqual({ renderer: 'simple', events: false });
    expect(progressChoice('auto', { isTTY: true, ci: true })).toEqual({ renderer: 'simple', events: false });
  });
  it('explicit modes win over the terminal', () => {
    expect(progressChoice('tty', log).renderer).toBe('default');
    expect(progressChoice('plain', tty).renderer).toBe('simple');
    expect(progressChoice('quiet', tty)).toEqual({ renderer: 'silent', events: false });
  });
  it('json: events, no renderer, even with --quiet', () => {
    expect(progressChoice('json', tty, true)).toEqual({ renderer: 'silent', events: true });
  });
  it('--quiet silences the other modes', () => {
    expect(progressChoice('tty', tty, true).renderer).toBe('silent');
  });
});

describe('progress events', () => {
  const now = new Date('2026-01-02T03:04:05.000Z');
  it('started carries id, kind and hash', () => {
    expect(startedEvent({ id: 'build:a', kind: 'build', hash: { value: 'h1', details: {} } as never }, now)).toEqual({ event: 'started', time: '2026-01-02T03:04:05.000Z', id: 'build:a', kind: 'build', hash: 'h1' });
  });
  it('finished carries status, reason, cause, rounded duration and the number of attempts', () => {
    const e = finishedEvent({ id: 'build:a', kind: 'build', hash: 'h1', status: 'failed', durationMs: 1234.6, reason: 'exited 1', cause: 'ERROR: boom', attempts: [{ durationMs: 1, ok: false }, { durationMs: 2, ok: false }] as never }, now);
    expect(e).toEqual({ event: 'finished', time: '2026-01-02T03:04:05.000Z', id: 'build:a', kind: 'build', hash: 'h1', status: 'failed', durationMs: 1235, reason: 'exited 1', cause: 'ERROR: boom', attempts: 2 });
  });
  it('a skip says why, with its digest', () => {
    const e = finishedEvent({ id: 'build:a', kind: 'build', hash: 'h1', status: 'skipped', durationMs: 0, reason: 'unchanged', digest: 'sha256:x' }, now);
    expect(e).toMatchObject({ status: 'skipped', reason: 'unchanged', digest: 'sha256:x' });
    expect(e).not.toHaveProperty('cause');
  });
});
