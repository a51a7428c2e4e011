// Manifests as the OCI distribution API returns them: image indexes (and Docker manifest
// lists) and image manifests, their platforms and digests. Pure: bytes in, facts out.
import { createHash } from 'node:crypto';

export const MEDIA = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
} as const;

/** What a manifest GET accepts: indexes first, so a multi-arch tag answers as one. */
export const MANIFEST_ACCEPT = [MEDIA.ociIndex, MEDIA.dockerList, MEDIA.ociManifest, MEDIA.dockerManifest].join(', ');

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface ManifestDoc {
  schemaVersion?: number;
  mediaType?: string;
  manifests?: { mediaType?: string; digest: string; size?: number; platform?: Platform; annotations?: Record<string, string> }[];
  config?: { mediaType?: string; digest: string; size?: number };
  layers?: unknown[];
  annotations?: Record<string, string>;
}

export interface ManifestInfo {
  mediaType: string;
  digest: string;
  /** For an index: platform → digest (attestation entries left out). */
  platforms?: Record<string, string>;
  /** For an image manifest: its config blob. */
  config?: string;
}

export function digestOf(body: Buffer | string): string {
  return `sha256:${createHash('sha256').update(body).digest('hex')}`;
}

export function isIndex(mediaType: string | undefined): boolean {
  return mediaType === MEDIA.ociIndex || mediaType === MEDIA.dockerList;
}

/** `linux/arm64/v8` as docker writes it; arm64's default variant is left out, as docker does. */
export function platformKey(p: Platform): string {
  const variant = p.architecture === 'arm64' && p.variant === 'v8' ? undefined : p.variant;
  return [p.os, p.architecture, variant].filter(Boolean).join('/');
}

/** Normalises a spec platform (`linux/arm64/v8` and `linux/arm64` are one platform). */
export function normalizePlatform(p: string): string {
  return p.replace(/^linux\/arm64\/v8$/, 'linux/arm64');
}

/** Parses a manifest body; throws on anything that is not a JSON object. */
export function parseManifest(body: Buffer | string, contentType?: string): ManifestDoc {
  const doc = JSON.parse(typeof body === 'string' ? body : body.toString('utf8')) as ManifestDoc;
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new Error('manifest is not a JSON object');
  if (!doc.mediaType && contentType) doc.mediaType = contentType.split(';')[0]!.trim();
  if (!doc.mediaType) doc.mediaType = doc.manifests ? MEDIA.ociIndex : MEDIA.ociManifest;
  return doc;
}

export function manifestInfo(digest: string, doc: ManifestDoc): ManifestInfo {
  const info: ManifestInfo = { mediaType: doc.mediaType ?? '', digest };
  if (isIndex(doc.mediaType) || doc.manifests) {
    info.platforms = {};
    for (const m of doc.manifests ?? []) {
      // BuildKit's attestation manifests sit in the index as platform unknown/unknown.
      if (!m.platform || m.platform.os === 'unknown' || m.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest') continue;
      info.platforms[platformKey(m.platform)] = m.digest;
    }
  } else if (doc.config?.digest) info.config = doc.config.digest;
  return info;
}

/**
 * Whether a published index holds exactly the platform images that were staged. A staged
 * reference is one image, or an index of its own: one build of several platforms, or one
 * platform with attestations (builders other than the classic docker driver add provenance).
 */
export function holdsExactly(published: ManifestInfo, staged: ManifestInfo[]): boolean {
  if (!published.platforms) return false;
  const want = new Set(staged.flatMap((s) => (s.platforms ? Object.values(s.platforms) : [s.digest])));
  const have = new Set(Object.values(published.platforms));
  return want.size === have.size && [...want].every((d) => have.has(d));
}

export interface ImageConfig {
  created?: string;
  os?: string;
  architecture?: string;
  variant?: string;
  config?: { Labels?: Record<string, string> | null };
}

export function parseConfig(body: Buffer | string): ImageConfig {
  const c = JSON.parse(typeof body === 'string' ? body : body.toString('utf8')) as ImageConfig;
  if (!c || typeof c !== 'object' || Array.isArray(c)) throw new Error('image config is not a JSON object');
  return c;
}

export function labelsOf(c: ImageConfig): Record<string, string> {
  return c.config?.Labels ?? {};
}
