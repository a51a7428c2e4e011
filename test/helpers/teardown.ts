// Run before every test file (vitest setupFiles): after the file, whatever its outcome, the temp
// dirs its tests made through tempDir are removed, so a run leaves nothing in /tmp.
import { afterAll } from 'vitest';
import { removeTempDirs } from './spec.ts';

afterAll(() => {
  removeTempDirs();
});
