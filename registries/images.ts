// Image-level questions asked of a registry through the distribution client: what a tag holds
// per platform, and the labels each platform's image carries.
import { parseImageRef } from '../core/base/image-ref.ts';
import { labelsOf, manifestInfo, normalizePlatform, platformKey, type ManifestInfo } from '../core/base/manifest.ts';
import type { RegistryClient } from './distribution.ts';

/** The manifest at a reference, as platform → digest for an index; undefined when absent. */
export async function manifestAt(client: RegistryClient, ref: string): Promise<ManifestInfo | undefined> {
  const r = parseImageRef(ref);
  const m = await client.manifest(r);
  return m ? manifestInfo(m.digest, m.doc) : undefined;
}

/** The manifest and each platform image's labels (an index's attestations have none and are left out). */
export async function labelledImage(client: RegistryClient, ref: string): Promise<{ info: ManifestInfo; labels: Record<string, string>[] } | undefined> {
  const r = parseImageRef(ref);
  const m = await client.manifest(r);
  if (!m) return undefined;
  const info = manifestInfo(m.digest, m.doc);
  if (info.config) return { info, labels: [labelsOf(await client.config(r.host, r.repository, info.config))] };
  const labels = await Promise.all(
    Object.values(info.platforms ?? {}).map(async (digest) => {
      const pm = await client.manifest({ ...r, tag: undefined, digest });
      const cfg = pm ? manifestInfo(pm.digest, pm.doc).config : undefined;
      return cfg ? labelsOf(await client.config(r.host, r.repository, cfg)) : {};
    }),
  );
  return { info, labels };
}

export interface ResolvedImage {
  /** The tag's own digest (an index, or the one image). */
  digest: string;
  /** Platform → the digest of that platform's image. */
  platforms: Record<string, string>;
}

/**
 * What a tag resolves to, per platform. A single-platform image answers for its own platform
 * only (read from its config). Undefined when the tag does not exist.
 */
export async function resolveImage(client: RegistryClient, ref: string): Promise<ResolvedImage | undefined> {
  const r = parseImageRef(ref);
  const m = await client.manifest(r);
  if (!m) return undefined;
  const info = manifestInfo(m.digest, m.doc);
  if (info.platforms) {
    return { digest: m.digest, platforms: Object.fromEntries(Object.entries(info.platforms).map(([p, d]) => [normalizePlatform(p), d])) };
  }
  const cfg = await client.config(r.host, r.repository, info.config!);
  const platform = cfg.os && cfg.architecture ? normalizePlatform(platformKey({ os: cfg.os, architecture: cfg.architecture, variant: cfg.variant })) : 'unknown';
  return { digest: m.digest, platforms: { [platform]: m.digest } };
}
