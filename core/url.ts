// Which URLs credentials may be sent to. Pure.

/** API base URLs credentials may go to: HTTPS, or plain HTTP on this machine; never with user:password@. */
export function isSafeApiUrl(text: string): boolean {
  try {
    const u = new URL(text);
    if (u.username || u.password) return false;
    if (u.protocol === 'https:') return true;
    return u.protocol === 'http:' && /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])$/.test(u.hostname);
  } catch {
    return false;
  }
}
