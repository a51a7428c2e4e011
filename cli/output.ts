// The only way the CLI prints. Results go to stdout, everything else to stderr, and every
// byte passes the redactor.
import { formatDiagnostic, safeText, type Diagnostic } from '../core/base/diagnostics.ts';
import { jsonStream, messageEvent, type ProgressMode } from '../core/views/progress.ts';
import { redactor } from '../core/base/redact.ts';

export interface OutputOptions {
  quiet: boolean;
  verbose: boolean;
  json: boolean;
  /** `--progress`; unset: a terminal gets the live view, a log plain lines, `--json` none. */
  progress?: ProgressMode;
}

export class Output {
  constructor(readonly opts: OutputOptions) {}

  /** A command's result. */
  result(text: string): void {
    process.stdout.write(redactor.redact(text.endsWith('\n') ? text : text + '\n'));
  }

  /** One JSON document: every one carries the version of its shape first (docs/cli.md, schema/output.schema.json). */
  json(value: unknown): void {
    const doc = value && typeof value === 'object' && !Array.isArray(value) && !('schemaVersion' in value) ? { schemaVersion: 1, ...value } : value;
    // Values first, so a secret inside a string is starred out whole, however JSON escapes it.
    this.result(JSON.stringify(redactor.redactDeep(doc), null, 2));
  }

  /** A large result, written piece by piece as stdout takes it (each piece redacted). */
  async stream(chunks: Iterable<string>): Promise<void> {
    const write = async (text: string) => {
      if (!process.stdout.write(redactor.redact(text))) await new Promise<void>((done) => process.stdout.once('drain', done));
    };
    // Pieces gathered to about 1 MiB: one write per task costs more than the copy saves.
    let batch: string[] = [];
    let size = 0;
    for (const c of chunks) {
      batch.push(c);
      size += c.length;
      if (size >= 1 << 20) {
        await write(batch.join(''));
        batch = [];
        size = 0;
      }
    }
    if (batch.length) await write(batch.join(''));
  }

  info(text: string): void {
    if (!this.opts.quiet) this.stderr('info', text);
  }

  debug(text: string): void {
    if (this.opts.verbose) this.stderr('debug', text);
  }

  error(text: string): void {
    this.stderr('error', text);
  }

  /** stderr carries progress: with a JSON stream (`--progress json|rawjson`) every line of it is an event. */
  private stderr(level: 'info' | 'debug' | 'error', text: string): void {
    const clean = safeText(redactor.redact(text));
    process.stderr.write(jsonStream(this.opts.progress) ? `${messageEvent(level, clean, new Date())}\n` : `${clean}\n`);
  }

  diagnostics(ds: readonly Diagnostic[]): void {
    for (const d of ds) {
      if (d.severity !== 'error' && this.opts.quiet) continue;
      this.error(formatDiagnostic(d));
      if (process.env['GITHUB_ACTIONS'] === 'true') this.error(annotation(d));
    }
  }
}

/** GitHub Actions workflow command, so spec errors show on the spec line in the PR. */
export function annotation(d: Diagnostic): string {
  const props = [d.file ? `file=${d.file}` : '', d.line ? `line=${d.line}` : '', d.column ? `col=${d.column}` : ''].filter(Boolean).join(',');
  const msg = escapeData(`${d.path ? d.path + ': ' : ''}${d.message}`);
  return `::${d.severity === 'info' ? 'notice' : d.severity}${props ? ' ' + props : ''}::${msg}`;
}

/** Escapes the data of a GitHub Actions workflow command. */
export function escapeData(s: string): string {
  return s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}
