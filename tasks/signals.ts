// Holds SIGINT/SIGTERM while a short critical section (a commit of renames) finishes, then
// delivers them, so an interrupt never lands between two renames.
//
// The section is synchronous, so a signal arriving in it is only seen by JavaScript on a later
// turn of the event loop (libuv notes it on a pipe that the next poll reads). The listener
// therefore stays until a poll has certainly happened: two setImmediate hops (an immediate
// queued in the check phase runs after the next poll). Removing it at once, as a plain
// try/finally would, drops the signal, and the process carries on to exit 0.
const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];

export function withSignalsDeferred<T>(fn: () => T): T {
  const pending: NodeJS.Signals[] = [];
  const hold = (sig: NodeJS.Signals) => pending.push(sig);
  for (const s of SIGNALS) process.on(s, hold);
  const release = () => {
    for (const s of SIGNALS) process.off(s, hold);
    const sig = pending[0];
    // With another listener (a build run's), it saw the signal too and acts on it; alone, the
    // signal's default action is what the user asked for: end the process, by that signal.
    if (sig && process.listenerCount(sig) === 0) process.kill(process.pid, sig);
  };
  try {
    return fn();
  } finally {
    setImmediate(() => setImmediate(release));
  }
}
