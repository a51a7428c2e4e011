// One planning run in a fresh process, so peak memory is this run's alone. Prints JSON.
import { loadPlan } from '../core/plan/plan.ts';

const manifest = process.argv[2]!;
const t0 = performance.now();
const c0 = process.cpuUsage();
const plan = loadPlan(manifest);
const ms = performance.now() - t0;
// CPU time as well as wall: on a shared machine the wall time mostly measures the other load.
const cpu = process.cpuUsage(c0);
const builds = [...plan.tasks.values()].filter((t) => t.kind === 'build').length;
process.stdout.write(JSON.stringify({ ms, cpuMs: (cpu.user + cpu.system) / 1000, tasks: plan.tasks.size, builds, maxRssMB: process.resourceUsage().maxRSS / 1024 }) + '\n');
