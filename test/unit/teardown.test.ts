// Tests remove what they create: the temp dirs tempDir makes go after each file (setupFiles).
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { removeTempDirs, tempDir } from '../helpers/spec.ts';

describe('test temp dirs', () => {
  it('are removed with their contents by removeTempDirs, which the teardown calls after every file', () => {
    removeTempDirs();
    const a = tempDir();
    const b = tempDir('other-');
    writeFileSync(join(a, 'f'), 'x');
    expect(removeTempDirs()).toBe(2);
    expect([existsSync(a), existsSync(b)]).toEqual([false, false]);
    expect(removeTempDirs()).toBe(0);
  });
});
