import {isMap, isPair, isScalar, isSeq, type Document, type LineCounter, type Node} from 'yaml'

/** Where in the YAML source a key path points: the key itself for map entries, else the value. */
export interface SourcePosition {
  line: number
  column: number
  /** Offset in the source, to order problems. */
  offset: number
}

/**
 * The node a path leads to in a parsed document; when `keyOf` is set, the position of that key in the
 * map the path leads to (for unknown keys). Walks as far as the document goes and answers the deepest
 * node found, so a missing key points at the map that should have it.
 */
export function positionOf(doc: Document, lineCounter: LineCounter, path: readonly PropertyKey[], keyOf?: string): SourcePosition {
  let node: unknown = doc.contents
  let offset = rangeStart(node) ?? 0
  const steps = keyOf === undefined ? path : [...path, keyOf]
  for (const [i, step] of steps.entries()) {
    const isLast = i === steps.length - 1
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && keyValue(p.key) === String(step))
      if (!pair) break
      const keyStart = rangeStart(pair.key)
      // A key path's last step points at the key; a problem with the value points at the value.
      if (isLast && (keyOf !== undefined || pair.value === null)) {
        offset = keyStart ?? offset
        node = undefined
        break
      }
      node = pair.value
      offset = rangeStart(node) ?? keyStart ?? offset
    } else if (isSeq(node) && typeof step === 'number') {
      const item = node.items[step]
      if (item === undefined) break
      node = item
      offset = rangeStart(node) ?? offset
    } else {
      break
    }
  }
  const {line, col} = lineCounter.linePos(offset)
  return {line, column: col, offset}
}

function keyValue(key: unknown): string | undefined {
  if (isScalar(key)) return String(key.value)
  return undefined
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as Node | null | undefined)?.range
  return range ? range[0] : undefined
}
