// Preloaded into a CLI run (`node --import this`): on exit, writes the process's peak memory
// and CPU time to $MANAGER_TEST_MEASURE, so a test can hold a run to a bound it measured.
import { writeFileSync } from 'node:fs';

const file = process.env.MANAGER_TEST_MEASURE;
if (file) {
  const started = performance.now();
  process.on('exit', () => {
    const u = process.resourceUsage();
    writeFileSync(file, JSON.stringify({ maxRssMB: u.maxRSS / 1024, wallMs: performance.now() - started, cpuMs: (u.userCPUTime + u.systemCPUTime) / 1000 }));
  });
}
