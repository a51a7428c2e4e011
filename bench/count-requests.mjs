// Preloaded into a `manager` process (NODE_OPTIONS=--import) to count the HTTP requests it
// sends, token requests included, from undici's own diagnostics channel; the count is written
// to $MANAGER_COUNT_REQUESTS at exit. For benchmarks and e2e tests: the command is unchanged.
import { channel } from 'node:diagnostics_channel';
import { writeFileSync } from 'node:fs';

const file = process.env.MANAGER_COUNT_REQUESTS;
if (file) {
  let n = 0;
  channel('undici:request:create').subscribe(() => n++);
  process.on('exit', () => writeFileSync(file, String(n)));
}
