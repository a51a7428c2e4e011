// The index a merge publishes through the registry API, as bytes: the sources' platform images
// (and the attestation manifests BuildKit put beside them) as one OCI image index, with the OCI
// labels as the index's own annotations. The same sources and annotations always give the same
// bytes, so the same digest: a rerun that changes nothing republishes nothing new. Pure.
import { MEDIA, digestOf, isIndex, type ManifestDoc, type Platform } from '../base/manifest.ts';

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  platform?: Platform & { 'os.version'?: string; 'os.features'?: string[] };
  artifactType?: string;
}

/** One source of a merge as the registry returned it. */
export interface IndexSource {
  mediaType: string;
  digest: string;
  /** Its size in bytes (the length of the body the registry returned). */
  size: number;
  doc: ManifestDoc;
  /** An image manifest's platform, read from its config: an index's entries carry their own. */
  platform?: Platform;
}

const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;

function checked(d: Partial<Descriptor> | undefined, where: string): Descriptor {
  if (!d || typeof d !== 'object') throw new Error(`${where}: an entry that is not a descriptor`);
  if (typeof d.digest !== 'string' || !DIGEST_RE.test(d.digest)) throw new Error(`${where}: an entry whose digest ${JSON.stringify(d.digest)} is not a sha256 digest`);
  if (typeof d.mediaType !== 'string' || !d.mediaType) throw new Error(`${where}: entry ${d.digest} has no media type`);
  if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0) throw new Error(`${where}: entry ${d.digest} has no valid size`);
  return d as Descriptor;
}

/**
 * The entries of the merged index, as `imagetools create` makes them: an image manifest
 * becomes one entry with its platform; an index contributes its own entries unchanged (the
 * attestation manifests keep the `vnd.docker.reference.*` annotations that tie them to their
 * image). An entry listed twice is kept once, where it first appears.
 */
export function indexEntries(sources: IndexSource[]): Descriptor[] {
  const out: Descriptor[] = [];
  const seen = new Set<string>();
  const add = (d: Descriptor) => {
    if (seen.has(d.digest)) return;
    seen.add(d.digest);
    out.push(d);
  };
  for (const s of sources) {
    if (isIndex(s.mediaType)) {
      for (const e of s.doc.manifests ?? []) add(checked(e as Partial<Descriptor>, s.digest));
    } else {
      add(checked({ mediaType: s.mediaType, digest: s.digest, size: s.size, ...(s.platform ? { platform: s.platform } : {}) }, s.digest));
    }
  }
  return out;
}

const sortedKeys = (o: Record<string, string>) => Object.fromEntries(Object.keys(o).sort().map((k) => [k, o[k]!]));

/** A descriptor with its fields in one fixed order (the order the OCI Go types write them). */
function canonicalDescriptor(d: Descriptor): Descriptor {
  const p = d.platform;
  return {
    mediaType: d.mediaType,
    digest: d.digest,
    size: d.size,
    ...(d.urls?.length ? { urls: [...d.urls] } : {}),
    ...(d.annotations && Object.keys(d.annotations).length ? { annotations: sortedKeys(d.annotations) } : {}),
    ...(p
      ? {
          platform: {
            architecture: p.architecture,
            os: p.os,
            ...(p['os.version'] ? { 'os.version': p['os.version'] } : {}),
            ...(p['os.features']?.length ? { 'os.features': [...p['os.features']] } : {}),
            ...(p.variant ? { variant: p.variant } : {}),
          },
        }
      : {}),
    ...(d.artifactType ? { artifactType: d.artifactType } : {}),
  };
}

export interface BuiltIndex {
  mediaType: typeof MEDIA.ociIndex;
  body: Buffer;
  digest: string;
  entries: Descriptor[];
}

/** The OCI index of the sources, with these annotations, as the bytes to PUT and their digest. */
export function ociIndex(sources: IndexSource[], annotations: Record<string, string>): BuiltIndex {
  const entries = indexEntries(sources);
  if (!entries.length) throw new Error('an index of no manifests');
  const doc = {
    schemaVersion: 2,
    mediaType: MEDIA.ociIndex,
    manifests: entries.map(canonicalDescriptor),
    ...(Object.keys(annotations).length ? { annotations: sortedKeys(annotations) } : {}),
  };
  const body = Buffer.from(JSON.stringify(doc), 'utf8');
  return { mediaType: MEDIA.ociIndex, body, digest: digestOf(body), entries };
}
