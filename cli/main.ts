// The command line: parses argv, runs one command, maps errors to exit codes in one place.
import { Command, CommanderError, Option } from 'commander';
import { PROGRESS_MODES, type ProgressMode } from '../core/views/progress.ts';
import { Ended, EXIT_CODES, exitCodeOf, InternalError, SpecError, UsageError, WorkError } from '../core/base/errors.ts';
import { fsErrorAtTop, isFsError } from '../tasks/fs-error.ts';
import { Output } from './output.ts';
import { registerSecrets } from './secrets.ts';
import { registerCommands } from './commands.ts';
import { registerBuildCommands } from './build.ts';
import { registerInputCommands } from './inputs.ts';
import { registerPruneCommand } from './prune.ts';
import { registerExportCommands } from './export.ts';

/** The notes spell flags in snake_case (`--target_version`); accept those as aliases. */
export function normalizeArgv(argv: string[]): string[] {
  const out: string[] = [];
  let passthrough = false;
  for (const a of argv) {
    if (passthrough || a === '--') {
      passthrough = true;
      out.push(a);
      continue;
    }
    const m = /^--([a-z0-9]+(?:_[a-z0-9]+)+)(=.*)?$/.exec(a);
    out.push(m ? `--${m[1]!.replace(/_/g, '-')}${m[2] ?? ''}` : a === 'create_context' ? 'context' : a);
  }
  return optionalValues(out);
}

/** Options whose value is optional (`--wait-lock[=SECONDS]`). */
const OPTIONAL_VALUE = new Set(['--wait-lock']);

/**
 * A bare `--wait-lock` would take the next word as its value (`generate --wait-lock mini`):
 * it takes one only when that word is a number; otherwise it is spelled `--wait-lock=`, the default.
 */
function optionalValues(argv: string[]): string[] {
  const end = argv.indexOf('--');
  return argv.map((a, i) => (OPTIONAL_VALUE.has(a) && (end < 0 || i < end) && !/^\d+$/.test(argv[i + 1] ?? '') ? `${a}=` : a));
}

const GLOBAL_WITH_VALUE = new Set(['--spec-dir', '--credentials-file', '--allow-extends', '--progress']);
const GLOBAL_FLAGS = new Set(['--verbose', '--quiet', '--json']);

/**
 * `orchestrate.ts --target pkg:release` (options, no command) means build; nothing at all
 * means help. A first word that is not a command is refused, with the nearest command: a
 * typo must never fall through to a build.
 */
export function withDefaultCommand(argv: string[], commands: Iterable<string>): string[] {
  const known = new Set(commands);
  // The first word that is neither an option nor a global option's value.
  let first: string | undefined;
  let onlyGlobals = true;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (GLOBAL_WITH_VALUE.has(a)) {
      i++;
      continue;
    }
    if (!a.startsWith('-')) {
      first = a;
      break;
    }
    // A build option before any command (`--target pkg:release`): the command is build, and the
    // next word may be that option's value.
    if (!GLOBAL_FLAGS.has(a) && !GLOBAL_WITH_VALUE.has(a.split('=')[0]!)) {
      onlyGlobals = false;
      break;
    }
  }
  if (argv.includes('--help') || argv.includes('-h') || argv.includes('--version') || argv.includes('-V')) return argv;
  if (first === undefined) return onlyGlobals ? [...argv, '--help'] : ['build', ...argv];
  if (!known.has(first)) {
    const near = nearest(first, [...known]);
    throw new UsageError(`unknown command "${first}"${near ? ` (did you mean ${near}?)` : ''}; \`manager --help\` lists the commands${near ? '' : `, and \`manager build ${first}\` builds a package`}`);
  }
  return argv;
}

/** The command within two edits of a word (a typo), if there is one. */
export function nearest(word: string, names: string[]): string | undefined {
  let best: { name: string; d: number } | undefined;
  for (const name of names) {
    const d = editDistance(word.toLowerCase(), name);
    if (d <= 2 && (!best || d < best.d)) best = { name, d };
  }
  return best?.name;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur.push(Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)));
    prev = cur;
  }
  return prev[b.length]!;
}

/**
 * Values from the command line reach argv arrays, files and workflows: a newline or other
 * control character in one is refused, and so is a value that looks like an option (commander
 * hands `--target-version --insecure` the value "--insecure").
 */
export function checkValues(opts: Record<string, unknown>, args: unknown[] = []): void {
  const check = (what: string, v: unknown) => {
    if (typeof v !== 'string') return;
    if (/[\u0000-\u001f\u007f]/.test(v)) throw new UsageError(`${what}: control characters (a newline?) are not allowed in values`);
    if (v.startsWith('-') && what.startsWith('--')) throw new UsageError(`${what}: "${v}" looks like an option; a value may not start with "-"`);
  };
  for (const [k, v] of Object.entries(opts)) {
    const name = `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
    for (const x of Array.isArray(v) ? v : [v]) check(name, x);
  }
  for (const a of args) for (const x of Array.isArray(a) ? a : [a]) check('argument', x);
}

export async function main(argv: string[]): Promise<number> {
  // `manager graph ... | head` closes the pipe early; that is not an error.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(EXIT_CODES.ok);
      throw e;
    });
  }
  const program = new Command('manager');
  const out = new Output({ quiet: false, verbose: false, json: false });
  program
    .description('Image-matrix build orchestrator: spec → task graph → Dockerfiles, docs and multi-arch images.')
    .version('0.1.0')
    .addOption(new Option('--spec-dir <dir>', 'spec root (default: $MANAGER_ROOT, $BENTOML_GIT_ROOT, or the repository root)'))
    // Not --env-file: Node 20 takes that flag from anywhere on the command line and loads the
    // file into the environment of the process and every child, which is what this avoids.
    .addOption(new Option('--credentials-file <file>', 'credentials in dotenv format (default: .env at the spec root); only the registries\' credential variables are read from it'))
    .option('--allow-extends <dir>', 'a directory outside the spec root that `extends` may read bases from (repeatable)', (v: string, p: string[] = []) => [...p, v])
    .option('--verbose', 'print more', false)
    .option('--quiet', 'print only results and errors', false)
    .option('--json', 'print results as JSON', false)
    .addOption(new Option('--progress <mode>', 'how a run shows progress, always on stderr: auto, plain, tty, json or rawjson (JSON lines only, one event per line), quiet').choices([...PROGRESS_MODES]))
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s), writeOut: (s) => process.stdout.write(s) });
  program.hook('preAction', (cmd, action) => {
    checkValues(cmd.opts());
    checkValues(action.opts(), action.processedArgs);
    // The command's own options with the globals: `build --output json` is the build's option.
    const o = action.optsWithGlobals();
    out.opts.quiet = Boolean(o['quiet']);
    out.opts.verbose = Boolean(o['verbose']);
    out.opts.json = Boolean(o['json']) || o['output'] === 'json';
    if (o['progress'] !== undefined) out.opts.progress = o['progress'] as ProgressMode;
    // Before any program starts: what a command's spec names is added when it is loaded.
    registerSecrets({ env: process.env }, (l) => out.error(l));
  });
  registerCommands(program, out);
  registerBuildCommands(program, out);
  registerInputCommands(program, out);
  registerPruneCommand(program, out);
  registerExportCommands(program, out);
  // Known before parsing, so that an error parsing reaches a --json caller as JSON too.
  out.opts.json = wantsJson(argv);
  try {
    const args = withDefaultCommand(normalizeArgv(argv), [...program.commands.flatMap((c) => [c.name(), ...c.aliases()]), 'help']);
    await program.parseAsync(args, { from: 'user' });
    return EXIT_CODES.ok;
  } catch (err) {
    return report(err, out);
  }
}

/** `--json` or `--output json` anywhere before `--`. */
export function wantsJson(argv: string[]): boolean {
  const end = argv.indexOf('--');
  const a = end < 0 ? argv : argv.slice(0, end);
  return a.includes('--json') || a.includes('--output=json') || a.some((x, i) => x === '--output' && a[i + 1] === 'json');
}

/**
 * The one place errors become exit codes (2: usage or spec, 1: failed work or a file system
 * that refused a write, 70: a bug) and
 * words on stderr; with --json also the one JSON document on stdout, shaped as every
 * command's failure is: `{schemaVersion, ok: false, error: {kind, exitCode, message, …}}`.
 */
function report(err: unknown, out: Output): number {
  const asJson = (kind: string, exitCode: number, message: string, extra: Record<string, unknown> = {}) => {
    if (out.opts.json) out.json({ ok: false, error: { kind, exitCode, message, ...extra } });
    return exitCode;
  };
  // The command said everything already (its summary, its JSON document): only the code is left.
  if (err instanceof Ended) return err.exitCode;
  if (err instanceof CommanderError) {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
    return asJson('usage', 2, err.message.replace(/^error: /, ''));
  }
  if (err instanceof SpecError) {
    out.diagnostics(err.diagnostics);
    const n = err.diagnostics.filter((d) => d.severity === 'error').length;
    out.error(`${n} error${n === 1 ? '' : 's'}; nothing was written`);
    return asJson('spec', 2, `${n} error${n === 1 ? '' : 's'} in the spec`, { diagnostics: err.diagnostics });
  }
  if (err instanceof UsageError) {
    out.error(`error: ${err.message}`);
    return asJson('usage', 2, err.message);
  }
  if (err instanceof WorkError) {
    out.error(`error: ${err.message}`);
    if (err.details) out.error(err.details);
    return asJson('work', 1, err.message, err.details ? { details: err.details } : {});
  }
  if (isFsError(err)) {
    // A full disk or a read-only mount is the environment's fault, not a bug: one line, exit 1.
    const w = fsErrorAtTop(err);
    out.error(`error: ${w.message}`);
    return asJson('work', 1, w.message);
  }
  const e = err instanceof InternalError ? err : new InternalError(err instanceof Error ? err.stack ?? err.message : String(err));
  out.error(`internal error (a bug in manager): ${e.message}`);
  return asJson('internal', exitCodeOf(e), 'internal error (a bug in manager)');
}
