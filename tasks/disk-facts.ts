// What the disk says about a render task: whether every file it writes already holds what the
// templates render now. One reading for the run, the dry run and `generate`, which all ask
// core/plan/decide.ts the same question with it.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Facts } from '../core/plan/decide.ts';
import type { RenderTask } from '../core/plan/task.ts';
import { hasContent } from './atomic.ts';

export function renderFacts(t: RenderTask, packageDir: string): Pick<Facts, 'filesCurrent' | 'filesPresent'> {
  const present = t.files.map((f) => existsSync(join(packageDir, f.path)));
  // The mode too: a build context carries it, so a file that lost its executable bit is not current.
  const filesCurrent = t.files.every((f, i) => present[i] && hasContent(join(packageDir, f.path), f.bytes ?? f.content, f.mode ?? 0o644));
  return { filesCurrent, filesPresent: present.some(Boolean) };
}
