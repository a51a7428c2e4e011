// The only way the CLI prints. Results go to stdout, everything else to stderr, and every
// byte passes the redactor.
import { formatDiagnostic, safeText, type Diagnostic } from '../core/diagnostics.ts';
import { redactor } from '../core/redact.ts';

export interface OutputOptions {
  quiet: boolean;
  verbose: boolean;
  json: boolean;
}

export class Output {
  constructor(readonly opts: OutputOptions) {}

  /** A command's result. */
  result(text: string): void {
    process.stdout.write(redactor.redact(text.endsWith('\n') ? text : text + '\n'));
  }

  json(value: unknown): void {
    this.result(JSON.stringify(value, null, 2));
  }

  info(text: string): void {
    if (!this.opts.quiet) process.stderr.write(safeText(redactor.redact(text)) + '\n');
  }

  debug(text: string): void {
    if (this.opts.verbose) process.stderr.write(safeText(redactor.redact(text)) + '\n');
  }

  error(text: string): void {
    process.stderr.write(safeText(redactor.redact(text)) + '\n');
  }

  diagnostics(ds: readonly Diagnostic[]): void {
    for (const d of ds) {
      if (d.severity === 'warning' && this.opts.quiet) continue;
      this.error(formatDiagnostic(d));
      if (process.env['GITHUB_ACTIONS'] === 'true') this.error(annotation(d));
    }
  }
}

/** GitHub Actions workflow command, so spec errors show on the spec line in the PR. */
export function annotation(d: Diagnostic): string {
  const props = [d.file ? `file=${d.file}` : '', d.line ? `line=${d.line}` : '', d.column ? `col=${d.column}` : ''].filter(Boolean).join(',');
  const msg = escapeData(`${d.path ? d.path + ': ' : ''}${d.message}`);
  return `::${d.severity === 'error' ? 'error' : 'warning'}${props ? ' ' + props : ''}::${msg}`;
}

/** Escapes the data of a GitHub Actions workflow command. */
export function escapeData(s: string): string {
  return s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}
