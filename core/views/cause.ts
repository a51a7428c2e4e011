// The cause of a failed command, from what it printed: the line a person would look for in
// the log (BuildKit's `ERROR:`, the daemon's error response, a registry's status and message,
// a refused connection), so the summary can say why, not only "exited 1". Pure.

/** Lines that are the tool's own chatter about the failure, not its cause. */
const NOISE = /^\s*(#\d+\s+[\d.]+\s*)?(\$ |# exit |# attempt |retry \d|------|\s*>>>|\d+ \| |Dockerfile:\d+$|--------------------)/;

/** Patterns of a cause, best first; each line from the end is tried against them in order. */
const CAUSES: RegExp[] = [
  /\bERROR:\s*(.+)$/,
  /\bError response from daemon:\s*(.+)$/,
  /\berror:\s*(.+)$/,
  /\b(failed to (?:solve|push|do request|fetch|authorize|resolve|copy)\b.+)$/i,
  /\b(dial tcp [^ ]+: .+)$/,
  /\b((?:unexpected status|status code):? .+)$/i,
  /\b(unauthorized|denied|not found|connection refused|no such host|i\/o timeout|no space left on device)\b.*$/i,
];

export function causeOf(output: string, max = 300): string | undefined {
  const lines = output.split('\n').map((l) => l.replace(/\r$/, '').trimEnd()).filter((l) => l.trim() && !NOISE.test(l));
  for (const re of CAUSES) {
    for (let i = lines.length - 1; i >= 0; i--) {
      const m = re.exec(lines[i]!);
      if (!m) continue;
      const text = (m[1] ?? m[0]).trim().replace(/\s+/g, ' ');
      return text.length > max ? `${text.slice(0, max - 1)}…` : text;
    }
  }
  return undefined;
}
