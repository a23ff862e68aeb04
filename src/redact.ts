/**
 * Last line of defence for secrets in anything printed: Authorization header values, bearer tokens,
 * JWT-looking strings, passwords in URLs, and any value registered at run time (passwords from flags,
 * config.json or the environment).
 */
const registered = new Set<string>()

export function registerSecret(value: string | undefined): void {
  if (value && value.length >= 4) registered.add(value)
}

export function redactSecrets(text: string): string {
  let out = text
  for (const s of registered) out = out.split(s).join('***')
  return out
    .replace(/(authorization["']?\s*[:=]\s*["']?)(basic|bearer)\s+[A-Za-z0-9._~+/=-]+/gi, '$1$2 ***')
    .replace(/\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g, '***')
    .replace(/(\/\/[^/\s:@]+:)[^@\s/]+@/g, '$1***@')
    .replace(/(["']?(?:password|token|access_token|refresh_token|identitytoken|auth)["']?\s*[:=]\s*["']?)[^"',\s}]+/gi, '$1***')
}

/** A URL without the user and password in it: how a remote's URL is shown and signed. */
export function urlWithoutCredentials(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1')
}
