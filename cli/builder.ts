// builder create: a buildx builder of one node per platform, or one local node.
import { type Command, Option } from 'commander';
import { createBuilder, parseNode } from '../tasks/builders.ts';
import type { Output } from './output.ts';

export function registerBuilderCommand(program: Command, out: Output): void {
  const builder = program.command('builder').description('manage buildx builders (state never lives in the builder)');
  builder
    .command('create')
    .description('create a buildx builder: one node per --node, or one local node')
    .option('--name <name>', 'builder name', 'manager')
    .addOption(new Option('--driver <driver>', 'buildx driver').choices(['docker-container', 'remote', 'kubernetes']).default('docker-container'))
    .option('--node <platform=endpoint>', 'a node for one platform, e.g. linux/arm64=ssh://arm-host (repeatable)', (v: string, p: string[] = []) => [...p, v])
    .option('--driver-opt <opt>', 'passed to buildx as --driver-opt (repeatable)', (v: string, p: string[] = []) => [...p, v])
    .option('--use', 'make it the default builder')
    .action(async (o: Record<string, unknown>) => {
      const nodes = ((o['node'] as string[] | undefined) ?? []).map(parseNode);
      const res = await createBuilder({
        name: String(o['name']),
        driver: o['driver'] as 'docker-container',
        nodes,
        driverOpts: (o['driverOpt'] as string[] | undefined) ?? [],
        use: Boolean(o['use']),
      }, (l) => out.info(l));
      out.result(`builder ${res.name}: ${res.nodes} node(s), driver ${res.driver}`);
    });
}
