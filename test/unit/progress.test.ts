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

describe('--progress as bake and buildx users write it', () => {
  it('rawjson is json; 0 columns draw as 80; a piped line names its task', async () => {
    const { terminalColumns } = await import('../../core/views/progress.ts');
    const { taskLine } = await import('../../tasks/execute.ts');
    expect(progressChoice('rawjson', { isTTY: true, ci: false })).toEqual(progressChoice('json', { isTTY: true, ci: false }));
    expect([terminalColumns(0), terminalColumns(undefined), terminalColumns(132)]).toEqual([80, 80, 132]);
    expect(taskLine('build:mini/deb/base/py3.10/amd64', '#5 [2/3] RUN echo base')).toBe('[build:mini/deb/base/py3.10/amd64] #5 [2/3] RUN echo base');
  });

  it('is taken before the command (not read as build\'s), and the JSON stream carries JSON lines only', async () => {
    const { cli } = await import('../helpers/cli.ts');
    const { miniSpec } = await import('../helpers/spec.ts');
    const { spyDocker } = await import('../helpers/spy-docker.ts');
    const { dir, manifest } = miniSpec();
    const validate = cli(['--progress', 'plain', 'validate', manifest]);
    expect(validate.code, validate.stderr).toBe(0);
    const bin = spyDocker();
    for (const mode of ['json', 'rawjson']) {
      const r = cli(['--spec-dir', dir, '--progress', mode, 'build', manifest, '--all', '--output', `${dir}/out-${mode}`], { env: { PATH: `${bin}:${process.env['PATH']}`, DOCKER_USER: 'acme', DOCKER_PASSWORD: 'hub-password-123' } });
      const lines = r.stderr.split('\n').filter(Boolean);
      expect(lines.length).toBeGreaterThan(5);
      const bad = lines.filter((l) => {
        try {
          return typeof JSON.parse(l) !== 'object';
        } catch {
          return true;
        }
      });
      expect(bad, mode).toEqual([]);
      const events = lines.map((l) => JSON.parse(l) as { event: string; level?: string; text?: string });
      expect(events.some((e) => e.event === 'finished')).toBe(true);
      expect(events.some((e) => e.event === 'message' && /platforms: /.test(e.text ?? ''))).toBe(true);
    }
  });
});

describe('build --load of a multi-platform selection', () => {
  it('says which platforms are in the local engine and which were built but not loaded', async () => {
    const { cli } = await import('../helpers/cli.ts');
    const { miniSpec } = await import('../helpers/spec.ts');
    const { spyDocker } = await import('../helpers/spy-docker.ts');
    const { outputDoc } = await import('../helpers/output-schema.ts');
    const { loadedLine } = await import('../../core/views/loaded.ts');
    const { dir, manifest } = miniSpec();
    const bin = spyDocker();
    const env = { PATH: `${bin}:${process.env['PATH']}` };
    const r = cli(['--spec-dir', dir, 'build', manifest, '--all', '--load', '--multi-platform', 'split', '--json', '--output', `${dir}/out`], { env });
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    const doc = outputDoc<{ loaded: { loaded: string[]; notLoaded: string[] } }>(r.stdout, 'build');
    expect(doc.loaded).toEqual({ loaded: ['linux/amd64'], notLoaded: ['linux/arm64'] });
    expect(loadedLine(doc.loaded)).toMatch(/^--load: linux\/amd64 loaded into the local engine; linux\/arm64 built and tested but not loaded/);
    const table = cli(['--spec-dir', dir, 'build', manifest, '--all', '--load', '--multi-platform', 'split', '--force', '--output', `${dir}/out`], { env });
    expect(table.stdout).toContain(loadedLine(doc.loaded));
  });
});
