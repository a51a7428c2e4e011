// Task logs. A log file or directory someone replaced with a symbolic link is refused, never
// followed: a run as root must not append build output to whatever the link points at.
import { closeSync, constants, mkdirSync, openSync, writeSync } from 'node:fs';
import { WorkError } from '../core/base/errors.ts';
import { redactor } from '../core/base/redact.ts';
import { fsFailure } from './fs-error.ts';
import { isLink } from './links.ts';

const { O_WRONLY, O_CREAT, O_TRUNC, O_APPEND, O_NOFOLLOW } = constants;

/** Makes the log directory; refuses one that is a symbolic link. */
export function ensureLogDir(dir: string): void {
  if (isLink(dir)) throw new WorkError(`refusing to write logs into ${dir}: it is a symbolic link`);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw fsFailure(e, 'create the log directory', dir);
  }
}

function write(path: string, text: string, flags: number): void {
  let fd: number;
  try {
    fd = openSync(path, flags | O_NOFOLLOW, 0o644);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ELOOP') throw new WorkError(`refusing to write the log ${path}: it is a symbolic link`);
    throw fsFailure(e, 'open the log', path);
  }
  try {
    writeSync(fd, text);
  } catch (e) {
    throw fsFailure(e, 'write the log', path);
  } finally {
    closeSync(fd);
  }
}

/** Starts (or empties) a log; the text passes the redactor. */
export function startLog(path: string, text = ''): void {
  write(path, redactor.redact(text), O_WRONLY | O_CREAT | O_TRUNC);
}

/** Appends to a log; the text passes the redactor (already-redacted stream chunks pass unchanged). */
export function appendLog(path: string, text: string): void {
  write(path, redactor.redact(text), O_WRONLY | O_CREAT | O_APPEND);
}
