// The selectors graph, build, test, bake and ci share.
import type { Command } from 'commander';
import { parseTarget, type Selection } from '../core/select.ts';

export const list = (v: string, prev: string[] = []) => [...prev, ...v.split(',').map((s) => s.trim()).filter(Boolean)];

export function addSelectionOptions(cmd: Command): Command {
  return cmd
    .option('--target <targets>', 'package:release[@distro], comma-separated or repeated', list)
    .option('--releases <names>', 'only these releases (and what they build FROM)', list)
    .option('--distros <names>', 'only these distros', list)
    .option('--python-version <versions>', 'only these Python versions', list)
    .option('--platforms <platforms>', 'only these platforms (linux/arm64 or arm64v8)', list)
    .option('--all', 'everything in the spec');
}

export function selectionFrom(o: Record<string, unknown>): Selection {
  return {
    targets: (o['target'] as string[] | undefined)?.map(parseTarget),
    releases: o['releases'] as string[] | undefined,
    distros: o['distros'] as string[] | undefined,
    python: o['pythonVersion'] as string[] | undefined,
    platforms: o['platforms'] as string[] | undefined,
    only: o['only'] as string[] | undefined,
    all: Boolean(o['all']),
  };
}

