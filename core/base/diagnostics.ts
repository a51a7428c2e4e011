/** `info`: what a rule did (an exclude rule's removals); printed, never a failure. */
export type Severity = 'error' | 'warning' | 'info';

export interface Position {
  file: string;
  line: number;
  column: number;
}

export interface Diagnostic {
  severity: Severity;
  /** Where in the spec, e.g. `distros.ubi8.releases[2]`; empty for the document root. */
  path: string;
  message: string;
  file?: string;
  line?: number;
  column?: number;
}

export type SpecPath = ReadonlyArray<string | number>;

export function formatPath(path: SpecPath): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_][\w-]*$/.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

/**
 * Text from a spec or the command line, made safe to print: control characters (but newline
 * and tab) and bidirectional overrides are shown as `\u001b`, never sent to the terminal.
 */
export function safeText(text: string): string {
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export function formatDiagnostic(d: Diagnostic, cwd = process.cwd()): string {
  const where = d.file
    ? `${relativeTo(cwd, d.file)}${d.line ? `:${d.line}:${d.column ?? 1}` : ''}: `
    : '';
  const path = d.path ? `${d.path}: ` : '';
  return safeText(`${where}${d.severity}: ${path}${d.message}`.replace(/[\r\n]+/g, ' '));
}

function relativeTo(cwd: string, file: string): string {
  if (file.startsWith(cwd + '/')) return file.slice(cwd.length + 1);
  return file;
}

export function hasErrors(ds: readonly Diagnostic[]): boolean {
  return ds.some((d) => d.severity === 'error');
}
