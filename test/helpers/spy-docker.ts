// A `docker` for the unit tier: records every argv it is called with (one JSON array a line,
// in $SPY_LOG when set) and answers as buildx would: a docker-container builder on inspect, a
// metadata file with a digest on build, "spy ok" from an image test, a buildx version
// ($SPY_BUILDX_VERSION) and a check report ($SPY_CHECK_JSON). Put its directory first
// on PATH.
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './spec.ts';

const SPY = `#!/usr/bin/env node
const fs = require('node:fs');
const crypto = require('node:crypto');
const argv = process.argv.slice(2);
if (process.env.SPY_LOG) fs.appendFileSync(process.env.SPY_LOG, JSON.stringify(['docker', ...argv]) + '\\n');
const has = (...w) => w.every((x, i) => argv[i] === x);
if (has('buildx', 'inspect')) {
  process.stdout.write('Name:   spy\\nDriver: docker-container\\n\\nNodes:\\nName:      spy0\\nEndpoint:  unix:///var/run/docker.sock\\nStatus:    running\\nBuildKit version: ' + (process.env.SPY_BUILDKIT || 'v0.13.2') + '\\nPlatforms: linux/amd64, linux/arm64\\n');
} else if (has('buildx', 'version')) {
  process.stdout.write((process.env.SPY_BUILDX_VERSION || 'github.com/docker/buildx v0.17.1 a1b2c3') + '\\n');
} else if (has('buildx', 'build') && argv.includes('--call')) {
  // As buildx answers --call check,format=json: the report, exit 1 when it warns.
  const report = process.env.SPY_CHECK_JSON || '{"warnings":[]}';
  process.stdout.write(report + '\\n');
  process.exitCode = JSON.parse(report).warnings.length ? 1 : 0;
} else if (has('buildx', 'build')) {
  const i = argv.indexOf('--metadata-file');
  const tag = argv[argv.indexOf('--tag') + 1] || argv.join(' ');
  if (i >= 0) fs.writeFileSync(argv[i + 1], JSON.stringify({ 'containerimage.digest': 'sha256:' + crypto.createHash('sha256').update(tag).digest('hex') }));
} else if (has('run')) {
  process.stdout.write('spy ok\\n');
}
`;

/** A directory holding the spy `docker` (the caller removes it). */
export function spyDocker(): string {
  const bin = tempDir('manager-spy-');
  writeFileSync(join(bin, 'docker'), SPY);
  chmodSync(join(bin, 'docker'), 0o755);
  return bin;
}
