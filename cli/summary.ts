// What a run says when it ends: the table, the closing count, the JSON document, and under
// GitHub Actions the annotations, log groups and step summary.
import { loadedLine, type Loaded } from '../core/views/loaded.ts';
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { WorkError } from '../core/base/errors.ts';
import { short } from '../core/base/hash.ts';
import { redactor } from '../core/base/redact.ts';
import { reportMarkdown } from '../core/views/report.ts';
import type { Summary } from '../tasks/execute.ts';
import { fsFailure } from '../tasks/fs-error.ts';
import { escapeData, type Output } from './output.ts';

/** One symbol per status, so a glance at the table tells failed from cancelled from not started. */
export const STATUS_SYMBOL: Record<string, string> = {
  built: '✔', ran: '✔', skipped: '↷', failed: '✖', 'timed-out': '⏱', cancelled: '■', 'not-started': '○', blocked: '⊘', 'would-run': '▸', 'would-fail': '✖',
};

/** The closing line; its first symbol is the outcome (done, failed, interrupted). */
export function countLine(s: Pick<Summary, 'ok' | 'interrupted' | 'results'>): string {
  const by = (...st: string[]) => s.results.filter((r) => st.includes(r.status)).length;
  const outcome = s.interrupted ? `■ interrupted by ${s.interrupted}` : s.ok ? '✔ done' : '✖ failed';
  return `${outcome}: ${by('built')} built, ${by('ran')} ran, ${by('skipped')} skipped, ${by('failed', 'timed-out')} failed, ${by('cancelled')} cancelled, ${by('blocked')} blocked, ${by('not-started')} not started`;
}

/** The reason a task has, and for a failure its cause: `exited 1: failed to push …: connection refused`. */
function why(r: Summary['results'][number]): string {
  const tries = r.attempts && r.attempts.length > 1 ? ` (${r.attempts.length} attempts: ${r.attempts.map((a) => `${(a.durationMs / 1000).toFixed(1)}s`).join(', ')})` : '';
  return `${r.reason ?? ''}${r.cause && !(r.reason ?? '').includes(r.cause) ? `: ${r.cause}` : ''}${tries}`;
}

/** Under GitHub Actions: error annotations, a log group per failed task, a step summary. */
export function githubReport(s: Summary, env: NodeJS.ProcessEnv = process.env, token = randomBytes(16).toString('hex')): { stdout: string[]; summary?: string } {
  const lines: string[] = [];
  for (const r of s.results.filter((x) => x.status === 'failed' || x.status === 'timed-out')) {
    lines.push(`::error title=${escapeData(r.id)}::${escapeData(why(r) || r.status)}`);
    if (r.log && existsSync(r.log)) {
      // A build's output is not ours: GitHub runs no workflow command in it between these markers.
      lines.push(`::group::${r.id} log`, `::stop-commands::${token}`, ...readFileSync(r.log, 'utf8').trimEnd().split('\n').slice(-200), `::${token}::`, '::endgroup::');
    }
  }
  if (!env['GITHUB_STEP_SUMMARY']) return { stdout: lines };
  const md = [
    `### manager build: ${s.ok ? 'succeeded' : 'failed'}`,
    '',
    countLine(s),
    '',
    '| status | task | time | hash | digest | reason |',
    '|---|---|---|---|---|---|',
    ...s.results.map((r) => `| ${STATUS_SYMBOL[r.status] ?? ''} ${r.status} | \`${r.id}\` | ${r.durationMs ? `${(r.durationMs / 1000).toFixed(1)}s` : ''} | \`${short(r.hash)}\` | ${r.digest ? `\`${r.digest.slice(7, 19)}\`` : ''} | ${why(r).replace(/\|/g, '\\|')} |`),
    '',
  ].join('\n');
  return { stdout: lines, summary: s.report ? `${reportMarkdown(redactor.redactDeep(s.report))}\n${md}` : md };
}

export function report(s: Summary, out: Output, dryRun: boolean, writeErrors: string[] = [], loaded?: Loaded): void {
  if (process.env['GITHUB_ACTIONS'] === 'true' && !dryRun) {
    const gh = githubReport(s);
    for (const l of gh.stdout) out.error(l);
    const file = process.env['GITHUB_STEP_SUMMARY']!;
    try {
      if (gh.summary) appendFileSync(file, redactor.redact(gh.summary));
    } catch (e) {
      const w = fsFailure(e, 'append to the step summary', file);
      if (!(w instanceof WorkError)) throw w;
      writeErrors.push(w.message);
    }
  }
  if (out.opts.json) {
    out.json({ ok: s.ok && !writeErrors.length, dryRun, interrupted: s.interrupted ?? false, engineLost: s.engineLost ?? null, registry: s.registry, builder: s.builder ?? null, ...(s.workers ? { workers: s.workers } : {}), tasks: s.results, ...(writeErrors.length ? { writeErrors } : {}), ...(loaded ? { loaded } : {}) });
    if (s.engineLost) out.error(`error: ${s.engineLost}`);
    return;
  }
  if (dryRun) return;
  const rows = s.results.map((r) => [`${STATUS_SYMBOL[r.status] ?? ' '} ${r.status}`, r.id, r.durationMs ? `${(r.durationMs / 1000).toFixed(1)}s` : '-', short(r.hash), r.digest ? r.digest.slice(7, 19) : '', why(r)]);
  const widths = [0, 1, 2, 3, 4].map((i) => Math.max(...rows.map((r) => r[i]!.length), ['status', 'task', 'time', 'hash', 'digest'][i]!.length));
  const line = (r: string[]) => r.map((c, i) => (i < 5 ? c.padEnd(widths[i]!) : c)).join('  ').trimEnd();
  out.result([line(['status', 'task', 'time', 'hash', 'digest', 'reason']), ...rows.map(line)].join('\n'));
  // Where to read more: the log of each failure.
  for (const r of s.results) if ((r.status === 'failed' || r.status === 'timed-out') && r.log) out.result(`${STATUS_SYMBOL[r.status]} ${r.id}: log ${r.log}`);
  if (loaded) out.result(loadedLine(loaded));
  // A record that could not be written fails the run: the closing line says so too.
  out.result(countLine({ ...s, ok: s.ok && !writeErrors.length }));
  if (!s.ok) {
    for (const r of s.results.filter((x) => x.status === 'failed' || x.status === 'timed-out')) {
      out.error(`FAILED ${r.id}: ${r.reason}${r.log ? `\n  log: ${r.log}` : ''}`);
    }
  }
  if (s.engineLost) out.error(`error: ${s.engineLost}`);
}
