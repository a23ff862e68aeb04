/** A parsed `WWW-Authenticate` challenge. */
export interface Challenge {
  scheme: 'basic' | 'bearer'
  params: Record<string, string>
}

/**
 * Parses `Bearer realm="…",service="…",scope="…"` or `Basic realm="…"`. Of several challenges in one
 * header, Bearer wins over Basic; unknown schemes give undefined.
 */
export function parseChallenge(header: string | string[] | undefined): Challenge | undefined {
  const values = header === undefined ? [] : Array.isArray(header) ? header : [header]
  const found: Challenge[] = []
  for (const value of values) {
    // Split "Scheme params, Scheme params": a new challenge starts where a token is followed by a space
    // and a key=, outside quotes.
    const re = /([A-Za-z][\w-]*)\s+((?:[\w-]+\s*=\s*(?:"(?:[^"\\]|\\.)*"|[^,\s]*)\s*,?\s*)*)/g
    let m: RegExpExecArray | null
    while ((m = re.exec(value)) !== null) {
      const scheme = m[1].toLowerCase()
      if (scheme !== 'basic' && scheme !== 'bearer') continue
      found.push({scheme, params: parseParams(m[2])})
    }
    if (found.length === 0 && /^\s*basic\s*$/i.test(value)) found.push({scheme: 'basic', params: {}})
  }
  return found.find((c) => c.scheme === 'bearer') ?? found[0]
}

function parseParams(text: string): Record<string, string> {
  const params: Record<string, string> = {}
  const re = /([\w-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g
  let m: RegExpExecArray | null
  while ((m = re.exec(text)) !== null) {
    params[m[1].toLowerCase()] = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3]
  }
  return params
}
