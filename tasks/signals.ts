// Holds SIGINT/SIGTERM while a short critical section (a commit of renames) finishes, then
// delivers them, so an interrupt never lands between two renames.
export function withSignalsDeferred<T>(fn: () => T): T {
  const pending: NodeJS.Signals[] = [];
  const hold = (sig: NodeJS.Signals) => pending.push(sig);
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];
  for (const s of signals) process.on(s, hold);
  try {
    return fn();
  } finally {
    for (const s of signals) process.off(s, hold);
    if (pending.length) process.kill(process.pid, pending[0]);
  }
}
