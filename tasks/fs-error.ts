// A file system that refuses a write (full, read-only, a file where a directory should be) is
// the environment's fault, not a bug: it becomes a WorkError (exit 1) whose one line names the
// path and the reason, never an internal error with a stack trace.
import { statSync } from 'node:fs';
import { dirname } from 'node:path';
import { WorkError } from '../core/base/errors.ts';

const REASONS: Record<string, string> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'read-only file system',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'it is a directory',
  EEXIST: 'it already exists',
  ENOTDIR: 'a part of the path is not a directory',
  ENOENT: 'no such file or directory',
  EMFILE: 'too many open files in this process',
  ENFILE: 'too many open files on this system',
  EIO: 'input/output error',
  ELOOP: 'too many symbolic links',
  ENAMETOOLONG: 'file name too long',
  EFBIG: 'file too large',
  EBUSY: 'resource busy (a mount point?)',
  ETXTBSY: 'text file busy',
  EXDEV: 'not on the same file system',
  ENXIO: 'no such device',
  ENODEV: 'no such device',
  ESTALE: 'stale file handle (a network file system)',
};

/** A Node system error from the file system whose cause lies outside this tool. */
export function isFsError(e: unknown): e is NodeJS.ErrnoException {
  return e instanceof Error && typeof (e as NodeJS.ErrnoException).code === 'string' && (e as NodeJS.ErrnoException).code! in REASONS && typeof (e as NodeJS.ErrnoException).syscall === 'string';
}

/** The nearest existing ancestor of a path (the path itself included) that is not a directory. */
function blockingFile(path: string): string | undefined {
  for (let p = path; ; p = dirname(p)) {
    try {
      if (!statSync(p).isDirectory()) return p;
      return undefined;
    } catch {
      // not there: look further up
    }
    if (dirname(p) === p) return undefined;
  }
}

/** The reason, in words, with the code a search engine knows. */
export function fsReason(e: NodeJS.ErrnoException, path?: string): string {
  const code = e.code!;
  if ((code === 'ENOTDIR' || code === 'EEXIST') && path) {
    const file = blockingFile(path);
    if (file) return `${file} is a file, not a directory (${code})`;
  }
  return `${REASONS[code] ?? e.message} (${code})`;
}

/**
 * `e` as a WorkError saying `could not <what> <path>: <reason>`, when it is a file-system
 * error; anything else (a bug) is returned as it was, for the caller to rethrow.
 */
export function fsFailure(e: unknown, what: string, path: string): unknown {
  if (e instanceof WorkError || !isFsError(e)) return e;
  return new WorkError(`could not ${what} ${path}: ${fsReason(e, path)}`);
}

const VERBS: Record<string, string> = {
  open: 'open', mkdir: 'create the directory', rename: 'rename', write: 'write', read: 'read', unlink: 'remove',
  link: 'link', rmdir: 'remove the directory', scandir: 'list', copyfile: 'copy', stat: 'look at', lstat: 'look at',
  fsync: 'flush', close: 'close', symlink: 'link', chmod: 'change the mode of', utime: 'touch',
};

/** The last resort, at the top: a file-system error no call site named, still said in one line. */
export function fsErrorAtTop(e: NodeJS.ErrnoException & { dest?: string }): WorkError {
  const verb = VERBS[e.syscall ?? ''] ?? e.syscall ?? 'use';
  const path = e.dest ? `${e.path} → ${e.dest}` : e.path;
  return new WorkError(path ? `could not ${verb} ${path}: ${fsReason(e, e.path)}` : `a file-system ${e.syscall ?? 'operation'} failed: ${fsReason(e)}`);
}
