// A merge publishes several tags; when it fails half-way, the tags it already moved are put
// back where they were, over the registry API, so a failed publish changes no public tag (and
// says which it could not restore). The registry keeps the old index by digest, so restoring a
// tag is one GET of those bytes and one PUT under the tag.
import { parseImageRef } from '../core/base/image-ref.ts';
import { RegistryError, type RegistryClient } from '../registries/distribution.ts';

/** What each tag pointed at: a digest, absent (a new tag), or not known (the lookup failed). */
export type TagState = { digest: string } | { absent: true } | { unknown: string };

export async function tagStates(client: RegistryClient, refs: string[]): Promise<Map<string, TagState>> {
  const out = new Map<string, TagState>();
  await Promise.all(
    refs.map(async (ref) => {
      try {
        const h = await client.head(parseImageRef(ref));
        out.set(ref, h ? { digest: h.digest } : { absent: true });
      } catch (e) {
        if (!(e instanceof RegistryError)) throw e;
        out.set(ref, { unknown: e.message });
      }
    }),
  );
  return out;
}

const same = (a: TagState | undefined, b: TagState | undefined) =>
  (a && 'digest' in a && b && 'digest' in b && a.digest === b.digest) || (a && 'absent' in a && b && 'absent' in b);

/** Tags whose state differs between two readings (a tag not known in either counts as moved: nothing proves otherwise). */
export function movedTags(before: Map<string, TagState>, after: Map<string, TagState>): string[] {
  return [...before.keys()].filter((ref) => !same(before.get(ref), after.get(ref)));
}

/**
 * Puts every moved tag back and says what became of each: restored to its digest, left moved
 * (a tag that did not exist before: the distribution API cannot remove a tag alone), or not
 * restorable (a lookup or PUT failed).
 */
export async function restoreTags(client: RegistryClient, before: Map<string, TagState>, log: (line: string) => void): Promise<string> {
  const moved = movedTags(before, await tagStates(client, [...before.keys()]));
  if (!moved.length) return 'no tag moved';
  const restored: string[] = [];
  const left: string[] = [];
  for (const ref of moved) {
    const was = before.get(ref)!;
    if (!('digest' in was)) {
      left.push(`${ref} (${'absent' in was ? 'new: the registry API cannot remove a tag alone' : `its earlier digest is not known: ${was.unknown}`})`);
      continue;
    }
    const r = parseImageRef(ref);
    try {
      const old = await client.manifest({ ...r, tag: undefined, digest: was.digest });
      if (!old) throw new RegistryError(`${r.host}/${r.repository}@${was.digest} is gone`, { url: ref, transient: false });
      await client.putManifest(r.host, r.repository, r.tag!, old.mediaType, old.body);
      restored.push(ref);
      log(`put ${ref} back at ${was.digest.slice(0, 19)}`);
    } catch (e) {
      if (!(e instanceof RegistryError)) throw e;
      left.push(`${ref} (could not restore: ${e.message})`);
    }
  }
  return [restored.length ? `put back: ${restored.join(', ')}` : '', left.length ? `left moved: ${left.join('; ')}` : ''].filter(Boolean).join('; ');
}
