// Every line the tool prints or writes passes through here: known secret values never leave,
// in any of the forms they take on the wire or in tools' output.

/**
 * Shorter secrets are not redacted: three characters would star out every word holding them.
 * The credentials manager uses itself are refused below this length (cli/secrets.ts), so a
 * short one can never be in play unredacted.
 */
export const MIN_SECRET_LENGTH = 6;

const hex = (b: number, lower: boolean) => `%${b.toString(16).padStart(2, '0')[lower ? 'toLowerCase' : 'toUpperCase']()}`;

/** Percent-encodes every byte outside RFC 3986's unreserved set: the strictest userinfo form. */
function percentAll(value: string, lower: boolean): string {
  let out = '';
  for (const b of Buffer.from(value)) out += /[A-Za-z0-9\-._~]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : hex(b, lower);
  return out;
}

/** URL encodings: encodeURIComponent, strict RFC 3986, WHATWG userinfo, form encoding, each in upper and lower case hex. */
function urlForms(value: string): string[] {
  const component = encodeURIComponent(value);
  const u = new URL('http://h/');
  u.password = value;
  const userinfo = u.password;
  const form = new URLSearchParams({ v: value }).toString().slice(2);
  const lowerHex = (s: string) => s.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase());
  return [component, userinfo, form, percentAll(value, false)].flatMap((s) => [s, lowerHex(s)]);
}

/** A JSON string's content, each character escaped as `escape` says (else as JSON.stringify does). */
function jsonEscape(value: string, escape: (c: string) => string | undefined): string {
  let out = '';
  for (const c of value) out += escape(c) ?? JSON.stringify(c).slice(1, -1);
  return out;
}

const u4 = (c: string, upper = false) => {
  const h = c.charCodeAt(0).toString(16).padStart(4, '0');
  return `\\u${upper ? h.toUpperCase() : h}`;
};

/** JSON escapes: JSON.stringify's, Go's encoding/json's, ASCII-only as Python writes them; \u hex in either case. */
function jsonForms(value: string): string[] {
  const out: string[] = [];
  for (const upper of [false, true]) {
    // Go escapes <, > and & for HTML safety, U+2028/2029, and control characters other than \n \r \t as \u00XX.
    const go = (c: string) => (/[<>&\u2028\u2029]/.test(c) || (/[\u0000-\u001f]/.test(c) && !/[\n\r\t]/.test(c)) ? u4(c, upper) : undefined);
    // Surrogate pairs as two escapes, as Python's ensure_ascii writes them.
    const ascii = (c: string) => (/[^\x00-\x7f]/.test(c) ? c.split('').map((x) => u4(x, upper)).join('') : undefined);
    out.push(jsonEscape(value, () => undefined), jsonEscape(value, go), jsonEscape(value, ascii), jsonEscape(value, (c) => go(c) ?? ascii(c)));
  }
  return out;
}

/** HTML escapes: named and numeric entities, as report.html and other pages write them. */
function htmlForms(value: string): string[] {
  const named: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
  return [value.replace(/[&<>"']/g, (c) => named[c]!), value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)];
}

/**
 * base64 and base64url of the secret alone (with and without padding), and the part of any
 * base64 text that the secret's bytes alone decide, at each of the three alignments a secret
 * can have inside a longer encoded string (`user:secret` in an auth header or config.json, a
 * JSON document encoded whole). The characters at either edge mix the secret's bits with its
 * neighbours' and stay: they reveal at most four bits of the first and last byte.
 */
function base64Forms(value: string): string[] {
  const bytes = Buffer.from(value);
  const out: string[] = [];
  const b64 = bytes.toString('base64');
  out.push(b64, b64.replace(/=+$/, ''));
  for (let k = 0; k < 3; k++) {
    const enc = Buffer.concat([Buffer.alloc(k), bytes, Buffer.alloc(2)]).toString('base64');
    const first = Math.ceil((8 * k) / 6);
    const last = Math.floor((8 * (k + bytes.length)) / 6); // exclusive: chars wholly inside the secret's bits
    if (last > first) out.push(enc.slice(first, last));
  }
  return out.flatMap((s) => [s, s.replace(/\+/g, '-').replace(/\//g, '_')]);
}

/** The forms a secret takes: as is, URL-encoded, JSON- and Go-escaped, HTML-escaped, base64 and base64url. */
export function secretForms(value: string): string[] {
  return [...new Set([value, ...urlForms(value), ...jsonForms(value), ...htmlForms(value), ...base64Forms(value)])].filter((f) => f.length >= MIN_SECRET_LENGTH);
}

export class Redactor {
  private secrets: string[] = [];
  private pattern: RegExp | undefined;

  /** Learns a secret in all its forms; false when it is too short to be redacted. */
  add(value: string | undefined): boolean {
    if (!value) return true;
    // A multi-line secret (a key file) is printed line by line: each line is a secret of its own.
    if (/[\r\n]/.test(value)) {
      let ok = true;
      for (const line of value.split(/\r?\n|\r/)) if (line.trim()) ok = this.add(line) && ok;
      return ok;
    }
    if (value.length < MIN_SECRET_LENGTH) return false;
    let changed = false;
    for (const f of secretForms(value)) {
      if (this.secrets.includes(f)) continue;
      this.secrets.push(f);
      changed = true;
    }
    if (!changed) return true;
    // Longest first, so a secret containing another is replaced whole.
    this.secrets.sort((a, b) => b.length - a.length);
    this.pattern = new RegExp(this.secrets.map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'g');
    return true;
  }

  redact(text: string): string {
    return this.pattern ? text.replace(this.pattern, '***') : text;
  }

  /** Every string in a value (object keys too), redacted: for documents written as JSON. */
  redactDeep<T>(value: T): T {
    if (!this.pattern) return value;
    const walk = (v: unknown): unknown => {
      if (typeof v === 'string') return this.redact(v);
      if (Array.isArray(v)) return v.map(walk);
      if (v && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
        return Object.fromEntries(Object.entries(v).map(([k, x]) => [this.redact(k), walk(x)]));
      }
      return v;
    };
    return walk(value) as T;
  }

  /** Where each known secret occurs, left to right, longest form first at each place. */
  matches(text: string): IterableIterator<RegExpMatchArray> {
    return this.pattern ? text.matchAll(this.pattern) : ([] as RegExpMatchArray[])[Symbol.iterator]();
  }

  /** The longest form known: how much a streamed chunk must hold back. */
  get longest(): number {
    return this.secrets[0]?.length ?? 0;
  }

  get size(): number {
    return this.secrets.length;
  }

  /** A redactor for one stream whose chunks may split a secret in two. */
  stream(): RedactingStream {
    return new RedactingStream(this);
  }
}

/**
 * Redacts a stream chunk by chunk, holding back the last few characters (fewer than the
 * longest secret) until the next chunk shows whether they start a secret.
 */
export class RedactingStream {
  private held = '';

  constructor(private readonly r: Redactor) {}

  push(chunk: string): string {
    const text = this.held + chunk;
    // A secret starting before `cut` is wholly inside the text, so its match is final; one
    // starting after it may still be growing (or be a longer form's prefix): hold that part
    // back. Secrets hold no newline, so a finished line is final too: progress lines are never
    // held until the program prints again.
    const cut = Math.max(0, text.length - Math.max(0, this.r.longest - 1), text.lastIndexOf('\n') + 1);
    let out = '';
    let pos = 0;
    for (const m of this.r.matches(text)) {
      const at = m.index!;
      if (at >= cut) break;
      out += text.slice(pos, at) + '***';
      pos = at + m[0].length;
    }
    const end = Math.max(pos, cut);
    out += text.slice(pos, end);
    this.held = text.slice(end);
    return out;
  }

  end(): string {
    const rest = this.r.redact(this.held);
    this.held = '';
    return rest;
  }
}

/** One redactor per process: every credential in sight is registered at startup (cli/secrets.ts). */
export const redactor = new Redactor();
