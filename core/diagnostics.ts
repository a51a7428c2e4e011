export type Severity = 'error' | 'warning';

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

export function formatDiagnostic(d: Diagnostic, cwd = process.cwd()): string {
  const where = d.file
    ? `${relativeTo(cwd, d.file)}${d.line ? `:${d.line}:${d.column ?? 1}` : ''}: `
    : '';
  const path = d.path ? `${d.path}: ` : '';
  return `${where}${d.severity}: ${path}${d.message}`;
}

function relativeTo(cwd: string, file: string): string {
  if (file.startsWith(cwd + '/')) return file.slice(cwd.length + 1);
  return file;
}

export function hasErrors(ds: readonly Diagnostic[]): boolean {
  return ds.some((d) => d.severity === 'error');
}
