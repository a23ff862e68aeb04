/** A plain aligned table: headers, then rows, columns separated by two spaces. */
export function renderTable(headers: string[], rows: string[][]): string {
  const widths = columnWidths(headers, rows)
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd()
  return [line(headers), ...rows.map(line)].join('\n')
}

function columnWidths(headers: string[], rows: string[][]): number[] {
  return headers.map((h, i) => Math.max(h.length, ...rows.map(r => (r[i] ?? '').length)))
}

/**
 * A table whose last column is a list (USED BY): on a terminal narrower than the table, each row's list
 * keeps the entries that fit and ends with `+N more` (at least one entry stays).
 */
export function renderTableWithList(headers: string[], rows: {cells: string[]; list: string[]}[], width: number): string {
  const fixed = columnWidths(headers.slice(0, -1), rows.map(r => r.cells))
  const room = Math.max(1, width - fixed.reduce((n, w) => n + w + 2, 0))
  return renderTable(headers, rows.map(r => [...r.cells, fitList(r.list, room)]))
}

/** `a, b, +3 more`: as many entries as fit in `room` characters, the rest counted. */
export function fitList(items: string[], room: number): string {
  if (items.length === 0) return '-'
  for (let k = items.length; k > 1; k--) {
    const text = items.slice(0, k).join(', ') + (k < items.length ? `, +${items.length - k} more` : '')
    if (text.length <= room) return text
  }
  return items.length === 1 ? items[0] : `${items[0]}, +${items.length - 1} more`
}

/**
 * The width tables are fitted to: COLUMNS when set, else the terminal's; a pipe or file gets whole rows
 * (like kubectl: a script reading the table sees every entry), and so does --wide.
 */
export function tableWidth(wide: boolean | undefined, env: NodeJS.ProcessEnv = process.env, out: {isTTY?: boolean; columns?: number} = process.stdout): number {
  if (wide) return Number.POSITIVE_INFINITY
  const columns = Number(env.COLUMNS)
  if (Number.isInteger(columns) && columns > 0) return columns
  if (out.isTTY && out.columns) return out.columns
  return Number.POSITIVE_INFINITY
}
