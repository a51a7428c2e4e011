// Secrets never leave, in any form, on any path: printed lines, streamed program output cut into
// arbitrary chunks, log files.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Redactor, secretForms } from '../../core/base/redact.ts';
import { redactor } from '../../core/base/redact.ts';
import { run } from '../../tasks/runner.ts';
import { leakedForms, secretForms as printedForms } from '../helpers/secret-forms.ts';

const secretArb = fc.string({ minLength: 6, maxLength: 40, unit: fc.constantFrom(...'abcXYZ019-_:/+=@!"\\ %&é'.split('')) }).filter((s) => s.trim().length >= 6);
const noise = fc.string({ maxLength: 30, unit: fc.constantFrom(...'ab \n:x*'.split('')) });

/** Every form the secret takes in the text, and `user:secret` base64 as auth headers carry it. */
function forms(secret: string, user: string): string[] {
  return [...secretForms(secret), Buffer.from(`${user}:${secret}`).toString('base64')];
}

function cut(text: string, points: number[]): string[] {
  const at = [...new Set(points.map((p) => p % (text.length + 1)))].sort((a, b) => a - b);
  const out: string[] = [];
  let prev = 0;
  for (const p of at) {
    out.push(text.slice(prev, p));
    prev = p;
  }
  out.push(text.slice(prev));
  return out;
}

describe('redaction', () => {
  it('replaces every form of every secret, whole, wherever a stream is cut', () => {
    fc.assert(
      fc.property(secretArb, fc.array(fc.tuple(noise, fc.nat(5)), { minLength: 1, maxLength: 6 }), fc.array(fc.nat(400), { maxLength: 12 }), (secret, parts, points) => {
        const r = new Redactor();
        r.add(secret);
        r.add(`alice:${secret}`);
        const all = forms(secret, 'alice');
        const text = parts.map(([n, i]) => n + all[i % all.length]).join('');
        const s = r.stream();
        const out = cut(text, points).map((c) => s.push(c)).join('') + s.end();
        for (const f of all) expect(out.includes(f), `${JSON.stringify(f)} in ${JSON.stringify(out)}`).toBe(false);
        expect(r.redact(text)).toBe(out);
      }),
      { numRuns: 2000 },
    );
  });

  it('no form another program prints survives (URL, JSON, Go, base64url, embedded base64 at each alignment), for any secret and user, however the stream is cut', () => {
    const hostile = fc.string({ minLength: 6, maxLength: 30, unit: fc.constantFrom(...'aZ09-_:/+=@!"\\ %&<>\'~é€'.split('')) }).filter((s) => s.trim().length >= 6);
    const user = fc.string({ minLength: 1, maxLength: 12, unit: fc.constantFrom(...'abz09-_.'.split('')) });
    fc.assert(
      fc.property(hostile, user, fc.array(fc.tuple(noise, fc.nat(30)), { minLength: 1, maxLength: 8 }), fc.array(fc.nat(600), { maxLength: 12 }), (secret, u, parts, points) => {
        const r = new Redactor();
        r.add(secret);
        r.add(`${u}:${secret}`);
        const all = Object.values(printedForms(u, secret));
        const text = parts.map(([n, i]) => n + all[i % all.length]).join('');
        const s = r.stream();
        const out = cut(text, points).map((c) => s.push(c)).join('') + s.end();
        expect(leakedForms(out, [{ user: u, secret }]), out).toEqual([]);
        expect(r.redact(text)).toBe(out);
      }),
      { numRuns: 1000 },
    );
  });

  it('a secret under the minimum length is not learnt (it would star out ordinary words); a multi-line one is learnt line by line', () => {
    const r = new Redactor();
    expect(r.add('abc12')).toBe(false);
    expect(r.redact('abc12 stays')).toBe('abc12 stays');
    expect(r.add('first-line-secret\nab\nsecond-line-secret')).toBe(false);
    expect(r.redact('first-line-secret second-line-secret ab')).toBe('*** *** ab');
  });

  it('redactDeep stars out secrets in every string and key of a document, leaving other values as they are', () => {
    const r = new Redactor();
    r.add('deep<secret>&');
    const doc = { a: ['x deep<secret>& y', 3, null, true], ['k-deep<secret>&']: { b: 'deep\\u003csecret\\u003e\\u0026' } };
    expect(r.redactDeep(doc)).toEqual({ a: ['x *** y', 3, null, true], ['k-***']: { b: '***' } });
  });

  it('a finished line is passed on at once, never held for the next chunk', () => {
    const r = new Redactor();
    r.add('a-long-secret-value-of-forty-characters!!');
    const s = r.stream();
    expect(s.push('#8 0.352 slow-start\n')).toBe('#8 0.352 slow-start\n');
    expect(s.push('partial')).toBe('');
    expect(s.push(' line a-long-secret-value-of-forty-characters!! done\n')).toBe('partial line *** done\n');
  });

  it('a stream without secrets is passed through unchanged', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), fc.array(fc.nat(200), { maxLength: 8 }), (text, points) => {
        const r = new Redactor();
        r.add('never-appears-123');
        const s = r.stream();
        expect(cut(text, points).map((c) => s.push(c)).join('') + s.end()).toBe(text.replaceAll('never-appears-123', '***'));
      }),
    );
  });

  it('program output through the one runner is redacted on the way, however the pipe splits it', async () => {
    const secret = 'pw-Split/Across:Chunks';
    redactor.add(secret);
    for (const form of forms(secret, 'bob')) {
      redactor.add(`bob:${secret}`);
      const seen: string[] = [];
      // The secret is written a byte at a time, so it reaches us in as many chunks as the pipe makes.
      const r = await run(['bash', '-c', 'printf "%s" "$1" | while IFS= read -r -n1 c; do printf "%s" "$c"; done; printf "\\n"', 'bash', `before ${form} after`], { onOutput: (c) => seen.push(c) });
      expect(r.exitCode).toBe(0);
      expect(seen.join(''), form).toBe('before *** after\n');
    }
  });
});
