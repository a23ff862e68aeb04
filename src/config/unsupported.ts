/**
 * What dapp and werf configs use that Slipway does not build: named plainly instead of "unknown key".
 */
const UNSUPPORTED: Record<string, string> = {
  ansible: 'ansible stages are not supported yet (write the tasks as shell commands)',
  chef: 'chef stages are not supported',
  dockerfile: 'dockerfile images are not supported (only stapel images: from, git, shell, import, docker, mount)',
  asLayers: 'asLayers is not supported',
  dependencies: 'image dependencies are not supported yet',
}

/** The first unsupported top-level key of a document, with the line that says so. */
export function unsupportedKey(raw: Record<string, unknown>): {key: string; message: string} | undefined {
  const key = Object.keys(raw).find((k) => Object.hasOwn(UNSUPPORTED, k))
  return key === undefined ? undefined : {key, message: UNSUPPORTED[key]}
}

/** The keys whose null value means something: the unnamed dimg. */
const MEANINGFUL_NULLS = new Set(['dimg', 'image'])

/**
 * The document with map entries whose value is null removed, as dapp's and werf's YAML decoding leaves a
 * field unset for them (a stage whose commands are all commented out has no commands), except the name keys
 * where `~` is the unnamed dimg. A null in an ENV or LABEL map is the empty string.
 */
export function withoutNulls(raw: Record<string, unknown>): Record<string, unknown> {
  const strip = (v: unknown, key?: string): unknown => {
    if (Array.isArray(v)) return v.map((e) => strip(e))
    if (v === null || typeof v !== 'object') return v
    const out: Record<string, unknown> = {}
    for (const [k, e] of Object.entries(v)) {
      if (e === null && (key === 'ENV' || key === 'LABEL')) out[k] = ''
      else if (e !== null) out[k] = strip(e, k)
    }
    return out
  }
  const out = strip(raw) as Record<string, unknown>
  for (const k of MEANINGFUL_NULLS) if (k in raw && raw[k] === null) out[k] = null
  return out
}
