// authenticate: logs in to a package's registries.
import type { Command } from 'commander';
import { authenticate } from '../tasks/authenticate.ts';
import type { Output } from './output.ts';
import { load } from './workspace.ts';

export function registerAuthenticateCommand(program: Command, out: Output): void {
  program
    .command('authenticate')
    .description('log in to the package\'s registries with credentials from the environment or $MANAGER_ROOT/.env')
    .argument('<package>')
    .option('--registry <names>', 'only these registries (names or hosts), comma-separated')
    .option('--all', 'every registry the package publishes to (the default)')
    .action(async (pkg: string, o: Record<string, unknown>, cmd: Command) => {
      const l = load(cmd.optsWithGlobals(), pkg, {}, out);
      const names = o['registry'] ? String(o['registry']).split(',').map((s) => s.trim()) : undefined;
      const res = await authenticate(l.plan.spec, { root: l.root, envFile: l.envFile, out, registries: names });
      if (out.opts.json) out.json({ ok: true, logins: res.map((r) => ({ host: r.host, username: r.username })) });
      else out.result(res.map((r) => `logged in to ${r.host} as ${r.username}`).join('\n') || 'no registry to log in to');
    });
}
