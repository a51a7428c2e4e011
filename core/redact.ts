// Every line the tool prints or writes passes through here: known secret values never leave.
const MIN_SECRET_LENGTH = 4;

export class Redactor {
  private secrets: string[] = [];

  add(value: string | undefined): void {
    if (!value || value.length < MIN_SECRET_LENGTH) return;
    const forms = new Set([value, encodeURIComponent(value), Buffer.from(value).toString('base64')]);
    for (const f of forms) if (!this.secrets.includes(f)) this.secrets.push(f);
    // Longest first, so a secret containing another is replaced whole.
    this.secrets.sort((a, b) => b.length - a.length);
  }

  redact(text: string): string {
    let out = text;
    for (const s of this.secrets) if (out.includes(s)) out = out.split(s).join('***');
    return out;
  }

  get size(): number {
    return this.secrets.length;
  }
}

/** One redactor per process: secrets are registered where they are loaded. */
export const redactor = new Redactor();
