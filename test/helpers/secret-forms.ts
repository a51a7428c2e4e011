// Every form a secret takes in other programs' output, computed independently of
// core/base/redact.ts (URL, JSON and Go escapes, base64 and base64url, embedded in longer encoded
// text), and a sweep that finds any of them, or the secret itself inside any base64 run.

export function secretForms(user: string, secret: string): Record<string, string> {
  const strict = [...Buffer.from(secret)].map((b) => (/[A-Za-z0-9\-._~]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`)).join('');
  const url = new URL('http://h/');
  url.username = user;
  url.password = secret;
  const goEscape = (s: string) => [...s].map((c) => ({ '<': '\\u003c', '>': '\\u003e', '&': '\\u0026', '"': '\\"', '\\': '\\\\' } as Record<string, string>)[c] ?? c).join('');
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const b64url = (s: string) => Buffer.from(s).toString('base64url');
  return {
    raw: secret,
    uriComponent: encodeURIComponent(secret),
    uriComponentLower: encodeURIComponent(secret).replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()),
    userinfoStrict: strict,
    userinfoStrictLower: strict.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()),
    userinfoWhatwg: url.password,
    json: JSON.stringify(secret).slice(1, -1),
    go: goEscape(secret),
    base64: b64(secret),
    base64url: b64url(secret),
    base64Pair: b64(`${user}:${secret}`),
    base64urlPair: b64url(`${user}:${secret}`),
    // Inside longer encoded texts, at each of the three byte alignments.
    base64Embedded0: b64(`{"auth":"${secret}"}`),
    base64Embedded1: b64(`{"auth":"x${secret}"}`),
    base64Embedded2: b64(`{"auth":"xy${secret}"}`),
    goJsonDoc: JSON.stringify({ password: secret }).replace(/[<>&]/g, (c) => `\\u00${c.charCodeAt(0).toString(16)}`),
    urlWithUserinfo: url.href,
  };
}

/** Which forms of which secrets a text holds, and where a base64 run (decoded at every offset, both alphabets) holds a secret. */
export function leakedForms(text: string, pairs: { user: string; secret: string }[]): string[] {
  const found: string[] = [];
  for (const { user, secret } of pairs) {
    for (const [name, f] of Object.entries(secretForms(user, secret))) if (text.includes(f)) found.push(`${user}/${name}`);
    const needle = Buffer.from(secret).toString('latin1');
    for (const run of text.match(/[A-Za-z0-9+/_-]{8,}/g) ?? []) {
      for (let i = 0; i < 4; i++) {
        const s = run.slice(i, run.length - ((run.length - i) % 4));
        const decoded = Buffer.from(s, 'base64').toString('latin1') + '\n' + Buffer.from(s, 'base64url').toString('latin1');
        if (decoded.includes(needle)) found.push(`${user}/base64 run at offset ${i}`);
      }
    }
  }
  return [...new Set(found)];
}
