// Where a repository keeps its specs: the design notes' docker/ layout, or this tool's own.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectLayout, generatedRoot, resolveManifest } from '../../cli/workspace.ts';
import { loadLayers } from '../../core/load/layers.ts';
import { pluginDirs, pluginMetadataArgv } from '../../tasks/authenticate.ts';
import { tempDir, writeTree } from '../helpers/spec.ts';

describe('repository layouts', () => {
  it('the notes\' layout: docker/manifest, docker/manager/specs.yml, docker/templates/<pkg>, docker/generated', () => {
    const root = writeTree({
      'docker/manager/specs.yml': 'python: ["3.9"]\n',
      'docker/manifest/bento-server.yml': 'package: bento-server\n',
      'docker/templates/bento-server/debian/base.Dockerfile.eta': 'FROM x\n',
    });
    const l = detectLayout(root);
    expect(l.name).toBe('design notes (docker/)');
    expect(l.defaults).toBe(join(root, 'docker/manager/specs.yml'));
    expect(l.templates!('bento-server')).toBe(join(root, 'docker/templates/bento-server'));
    expect(l.templates!('other')).toBe(join(root, 'docker/templates'));
    expect(generatedRoot(root)).toBe(join(root, 'docker/generated'));
    expect(resolveManifest(root, 'bento-server')).toBe(join(root, 'docker/manifest/bento-server.yml'));
    expect(() => resolveManifest(root, 'nope')).toThrow(/looked for:\n  .*docker\/manifest\/nope\.yml\n  .*docker\/manifest\/nope\.yaml$/);
  });

  it('docker/manifest alone is enough to recognise it; without docker/ it is this tool\'s own layout', () => {
    expect(detectLayout(writeTree({ 'docker/manifest/x.yaml': 'package: x\n' })).name).toBe('design notes (docker/)');
    const own = tempDir();
    expect(detectLayout(own).name).toBe('manager');
    expect(generatedRoot(own)).toBe(join(own, 'generated'));
  });

  it('the shared specs are merged first and once, whether or not the manifest extends them', () => {
    const root = writeTree({
      'docker/manager/specs.yml': 'python: ["3.9"]\nvars: { a: shared, b: shared }\n',
      'docker/manifest/p.yml': 'package: p\nvars: { b: own }\n',
      'docker/manifest/q.yml': 'extends: ../manager/specs.yml\npackage: q\nvars: { b: own }\n',
    });
    const defaults = join(root, 'docker/manager/specs.yml');
    for (const m of ['p', 'q']) {
      const l = loadLayers(join(root, `docker/manifest/${m}.yml`), { root, defaults });
      expect(l.diagnostics).toEqual([]);
      expect(l.value['vars']).toEqual({ a: 'shared', b: 'own' });
      expect(l.files).toEqual([defaults, join(root, `docker/manifest/${m}.yml`)]);
    }
  });
});

describe('docker-pushrm, found as the docker CLI finds plugins', () => {
  it('looks in $DOCKER_CONFIG/cli-plugins (else ~/.docker/cli-plugins), then the system directories', () => {
    expect(pluginDirs({ DOCKER_CONFIG: '/cfg' }, '/home/u')[0]).toBe('/cfg/cli-plugins');
    expect(pluginDirs({}, '/home/u')).toEqual(['/home/u/.docker/cli-plugins', '/usr/local/lib/docker/cli-plugins', '/usr/local/libexec/docker/cli-plugins', '/usr/lib/docker/cli-plugins', '/usr/libexec/docker/cli-plugins']);
    // What the CLI asks a plugin; `docker pushrm --help` exits 0 even without the plugin.
    expect(pluginMetadataArgv('/cfg/cli-plugins/docker-pushrm')).toEqual(['/cfg/cli-plugins/docker-pushrm', 'docker-cli-plugin-metadata']);
  });
});
