// bake: the selected builds as a docker-bake.json.
import { resolve } from 'node:path';
import { type Command, Option } from 'commander';
import { bakeFile, type ParentMode } from '../core/buildx/bake.ts';
import { attestations, supportsNamedContexts } from '../core/buildx/argv.ts';
import { localRepository, stagingRepository } from '../core/plan/staging.ts';
import { selectTasks } from '../core/plan/select.ts';
import { writeFileAtomic } from '../tasks/atomic.ts';
import { inspectBuilder } from '../tasks/builders.ts';
import { readState } from '../tasks/state.ts';
import { cacheOptions, specVcs } from './build-options.ts';
import type { Output } from './output.ts';
import { addSelectionOptions, addSetOption, addShardOptions, selectionFrom, shardFrom } from './selection.ts';
import { load, packageArg } from './workspace.ts';

export function registerBakeCommand(program: Command, out: Output): void {
  addSetOption(addShardOptions(addSelectionOptions(
    program
      .command('bake')
      .description('export the selected builds as a docker-bake.json for docker buildx bake')
      .argument('[package]'),
  )))
    .addOption(new Option('--parent-mode <mode>', 'how children get their parent: target: contexts (BuildKit ≥ 0.10) or build args').choices(['auto', 'contexts', 'args']).default('auto'))
    .option('--builder <name>', 'builder whose BuildKit decides --parent-mode auto')
    .option('--staging-repository <repo>', 'where per-platform images go (default: the first publish registry)')
    .option('--load', 'load into the local engine instead of pushing')
    .option('--file <path>', 'write here instead of stdout')
    .option('--target-version <version>', 'override the spec version')
    .option('--output <dir>', 'generated root (default: <spec root>/generated)')
    .option('--provenance <value>', 'attest provenance (as buildx --provenance)')
    .option('--sbom <value>', 'attest an SBOM (as buildx --sbom)')
    .option('--cache-from <spec>', 'as for build (repeatable)', (v: string, p: string[] = []) => [...p, v])
    .option('--cache-to <spec>', 'as for build (repeatable)', (v: string, p: string[] = []) => [...p, v])
    .option('--pull', 'targets get pull: true')
    .option('--no-cache', 'targets get no-cache: true')
    .action(async (pkg: string | undefined, o: Record<string, unknown>, cmd: Command) => {
      const l = load(cmd.optsWithGlobals(), packageArg(pkg, o['target'] as string[] | undefined), o, out);
      const selected = shardFrom(l.plan, selectTasks(l.plan, selectionFrom(o)), o);
      let mode = o['parentMode'] as 'auto' | ParentMode;
      if (mode === 'auto') {
        const info = await inspectBuilder(o['builder'] as string | undefined);
        mode = supportsNamedContexts(info) ? 'contexts' : 'args';
        out.info(`builder ${info.name} runs BuildKit ${info.buildkit ?? 'unknown'}: parents passed as ${mode === 'contexts' ? 'target: contexts' : 'build args (bake the level0, level1, … groups in order)'}`);
      }
      const file = o['file'] ? resolve(String(o['file'])) : undefined;
      const state = readState(l.packageDir);
      const doc = bakeFile(l.plan, {
        selected,
        packageDir: l.packageDir,
        // buildx resolves contexts against the directory bake runs in: run it where this ran.
        bakeDir: process.cwd(),
        stagingRepo: stagingRepository(l.plan, o['stagingRepository'] as string | undefined) ?? localRepository(l.plan),
        parentMode: mode,
        push: !o['load'],
        records: new Map(Object.entries(state.tasks)),
        ...(await specVcs(l.manifest)),
        ...attestations(l.plan.spec.build.attest, { provenance: o['provenance'] as string | undefined, sbom: o['sbom'] as string | undefined }),
        ...cacheOptions(o),
      });
      const text = JSON.stringify(doc, null, 2) + '\n';
      if (file) {
        writeFileAtomic(file, text);
        out.result(`${file}: ${Object.keys(doc.target).length} targets`);
      } else out.result(text);
    });
}
