// Runs a selection with the settings every command shares, and leaves the run's records beside
// its state: the report, the metadata file, the summary.
import { loadedPlatforms } from '../core/views/loaded.ts';
import { HOST_FACTS } from '../tasks/facts.ts';
import { join, relative, resolve } from 'node:path';
import { Ended, runOutcome, WorkError } from '../core/base/errors.ts';
import { redactor } from '../core/base/redact.ts';
import type { RenderTask } from '../core/plan/task.ts';
import { progressChoice, terminalColumns } from '../core/views/progress.ts';
import { reportHtml, reportMarkdown } from '../core/views/report.ts';
import { writeFileAtomic } from '../tasks/atomic.ts';
import { readmePusher } from '../tasks/authenticate.ts';
import { execute, type ExecuteOptions } from '../tasks/execute.ts';
import { executeDefaults } from '../tasks/options.ts';
import { fsFailure } from '../tasks/fs-error.ts';
import { foreignInTheWay } from '../tasks/generate.ts';
import { readState } from '../tasks/state.ts';
import type { Output } from './output.ts';
import { report } from './summary.ts';
import { takeLock, type Loaded, type LockChoice } from './workspace.ts';

/**
 * Runs a selection with the settings every command shares, prints the summary, sets the exit
 * code. Everything but a dry run holds the generated tree's lock: it writes state and logs.
 */
export async function runSelected(l: Loaded, out: Output, selected: Set<string>, opts: Partial<ExecuteOptions>, lockHow: LockChoice = { wait: false }): Promise<void> {
  const lock = opts.dryRun ? undefined : await takeLock(l.packageDir, out, lockHow);
  try {
    await runSelectedLocked(l, out, selected, opts);
  } finally {
    lock?.release();
  }
}

async function runSelectedLocked(l: Loaded, out: Output, selected: Set<string>, opts: Partial<ExecuteOptions>): Promise<void> {
  // A render would stop at a file manager did not write: refused before anything runs, as generate does.
  if (!opts.dryRun) {
    const renders = [...selected].map((id) => l.plan.tasks.get(id)!).filter((t): t is RenderTask => t.kind === 'render');
    foreignInTheWay(l.packageDir, renders, readState(l.packageDir), Boolean(opts.adopt), l.plan.spec.package);
  }
  // listr2 draws to the terminal's width; one reporting 0 columns would get a character per line.
  for (const s of [process.stderr, process.stdout]) if (s.isTTY) s.columns = terminalColumns(s.columns);
  const shown = progressChoice(out.opts.progress ?? (out.opts.json ? 'quiet' : 'auto'), { isTTY: Boolean(process.stderr.isTTY), ci: Boolean(process.env['CI']) }, out.opts.quiet);
  const summary = await execute(l.plan, executeDefaults(l.plan, {
    packageDir: l.packageDir,
    selected,
    renderer: shown.renderer,
    ...(shown.events ? { events: (line: string) => process.stderr.write(redactor.redact(line) + '\n') } : {}),
    pushReadme: readmePusher(l.plan.spec, { root: l.root, envFile: l.envFile, out }),
    log: (line) => out.info(line),
    ...opts,
  }));
  // A record that cannot be written (a full disk, a read-only mount) fails the run, but only
  // after the summary: what ran is still said, and each such file gets one line naming it.
  const writeErrors = [...(summary.writeErrors ?? [])];
  const attempt = (what: string, path: string, write: () => void): boolean => {
    try {
      write();
      return true;
    } catch (e) {
      const w = fsFailure(e, what, path);
      if (!(w instanceof WorkError)) throw w;
      writeErrors.push(w.message);
      return false;
    }
  };
  if (summary.report) {
    // Every real run leaves its picture beside its state: .manager/report.html and report.md.
    const dir = join(l.packageDir, '.manager');
    // The data first (the page escapes and the chart mangles what it shows), the page after.
    const data = redactor.redactDeep(summary.report);
    const html = join(dir, 'report.html');
    const wrote = attempt('write the report', html, () => writeFileAtomic(html, redactor.redact(reportHtml(data, { at: dir, mode: opts.mode ?? 'push' }))));
    const md = join(dir, 'report.md');
    attempt('write the report', md, () => writeFileAtomic(md, redactor.redact(reportMarkdown(data))));
    if (wrote) out.info(`report: ${relative(process.cwd(), html) || html}`);
  }
  if (opts.metadataFile && !opts.dryRun && summary.metadata) {
    // Written after failures too: each image's status says how far it got.
    const file = resolve(opts.metadataFile);
    attempt('write the metadata file', file, () => writeFileAtomic(file, redactor.redact(`${JSON.stringify(redactor.redactDeep(summary.metadata), null, 2)}\n`)));
  }
  const loaded = opts.mode === 'load' && !opts.dryRun ? loadedPlatforms(l.plan, summary.results, HOST_FACTS.hostArch) : undefined;
  report(summary, out, Boolean(opts.dryRun), writeErrors, loaded);
  if (opts.dryRun && !out.opts.json) {
    out.result(`dry run: nothing was run or written; ${summary.registry.consulted ? 'decisions consulted the registry (read-only), as a real run does' : `the registry was not consulted (${summary.registry.why})`}`);
  }
  for (const w of writeErrors) out.error(`error: ${w}`);
  // A record that could not be written fails the run; a signal's code still wins.
  const outcome = runOutcome(summary) ?? (writeErrors.length ? 'failed' : undefined);
  if (outcome) throw new Ended(outcome);
}
