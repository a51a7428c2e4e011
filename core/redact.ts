// Every line the tool prints or writes passes through here: known secret values never leave,
// in any of the forms they take on the wire or in tools' output.
const MIN_SECRET_LENGTH = 4;

/** The forms a secret takes: as is, URL-encoded, base64 (auth headers, config.json), JSON-escaped. */
export function secretForms(value: string): string[] {
  const b64 = Buffer.from(value).toString('base64');
  return [...new Set([value, encodeURIComponent(value), b64, b64.replace(/=+$/, ''), JSON.stringify(value).slice(1, -1)])].filter((f) => f.length >= MIN_SECRET_LENGTH);
}

export class Redactor {
  private secrets: string[] = [];
  private pattern: RegExp | undefined;

  add(value: string | undefined): void {
    if (!value || value.length < MIN_SECRET_LENGTH) return;
    // A multi-line secret (a key file) is printed line by line: each line is a secret of its own.
    if (/[\r\n]/.test(value)) {
      for (const line of value.split(/\r?\n|\r/)) this.add(line);
      return;
    }
    let changed = false;
    for (const f of secretForms(value)) {
      if (this.secrets.includes(f)) continue;
      this.secrets.push(f);
      changed = true;
    }
    if (!changed) return;
    // Longest first, so a secret containing another is replaced whole.
    this.secrets.sort((a, b) => b.length - a.length);
    this.pattern = new RegExp(this.secrets.map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'g');
  }

  redact(text: string): string {
    return this.pattern ? text.replace(this.pattern, '***') : text;
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

/** One redactor per process: secrets are registered where they are loaded. */
export const redactor = new Redactor();
