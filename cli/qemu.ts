// setup-qemu: the engine's emulators for foreign platforms.
import type { Command } from 'commander';
import { Ended } from '../core/base/errors.ts';
import { setupQemu } from '../tasks/builders.ts';
import type { Output } from './output.ts';

export function registerSetupQemuCommand(program: Command, out: Output): void {
  program
    .command('setup-qemu')
    .description('register QEMU binfmt handlers so the builder can run foreign platforms')
    .option('--platforms <list>', 'arm64,arm,ppc64le,s390x (default: all of them)')
    .action(async (o: Record<string, unknown>) => {
      const res = await setupQemu(o['platforms'] ? String(o['platforms']).split(',') : undefined, (l) => out.info(l));
      if (out.opts.json) out.json(res);
      else out.result(`emulators enabled: ${res.enabled.join(', ') || 'none'}${res.failed.length ? `; failed: ${res.failed.join(', ')}` : ''}`);
      if (res.failed.length) throw new Ended('failed');
    });
}
