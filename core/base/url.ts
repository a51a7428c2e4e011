// Which URLs the tool may hand on: API bases credentials may be sent to, and git URLs `git
// ls-remote` may be given. Pure.

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

/** Git URLs `git ls-remote` may be given: network and file URLs, scp-like, absolute paths. Never an option. */
export function isSafeGitUrl(url: string): boolean {
  return /^(https?|ssh|git|file):\/\/[^\s]+$/.test(url) || /^[\w.-]+@[\w.-]+:[^\s]+$/.test(url) || /^\/[^\s]*$/.test(url);
}
