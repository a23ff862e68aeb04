/**
 * The lexer of Go's text/template (a port of text/template/parse/lex.go, Go 1.19): the template text
 * becomes tokens; text outside actions is kept whole, `{{-`/`-}}` trim the adjacent text's spaces, and
 * comments are dropped. A lexing error is the last token.
 */
export type TokenType =
  | 'error' | 'bool' | 'char' | 'charConstant' | 'complex' | 'assign' | 'declare' | 'eof' | 'field'
  | 'identifier' | 'leftDelim' | 'leftParen' | 'number' | 'pipe' | 'rawString' | 'rightDelim'
  | 'rightParen' | 'space' | 'string' | 'text' | 'variable'
  // keywords
  | 'block' | 'break' | 'continue' | 'dot' | 'define' | 'else' | 'end' | 'if' | 'range' | 'nil'
  | 'template' | 'with'

export interface Token {
  type: TokenType
  pos: number
  val: string
  line: number
}

const KEYWORDS: Record<string, TokenType> = {
  '.': 'dot', block: 'block', break: 'break', continue: 'continue', define: 'define', else: 'else',
  end: 'end', if: 'if', range: 'range', nil: 'nil', template: 'template', with: 'with',
}
export const isKeyword = (t: TokenType): boolean => Object.values(KEYWORDS).includes(t)

const LEFT = '{{'
const RIGHT = '}}'
const TRIM_LEN = 2

export const isSpace = (c: string): boolean => c === ' ' || c === '\t' || c === '\r' || c === '\n'
export const isAlphaNumeric = (c: string): boolean => c === '_' || /^[\p{L}\p{Nd}]$/u.test(c)
const hasLeftTrimMarker = (s: string): boolean => s.length >= 2 && s[0] === '-' && isSpace(s[1])
const hasRightTrimMarker = (s: string): boolean => s.length >= 2 && isSpace(s[0]) && s[1] === '-'
const count = (s: string): number => s.split('\n').length - 1
const trimRightLength = (s: string): number => s.length - s.replace(/[ \t\r\n]+$/, '').length
const trimLeftLength = (s: string): number => s.length - s.replace(/^[ \t\r\n]+/, '').length

type State = ((l: Lexer) => State) | null
const EOF = ''

class Lexer {
  pos = 0
  start = 0
  line = 1
  startLine = 1
  parenDepth = 0
  atEOF = false
  readonly items: Token[] = []
  constructor(readonly input: string, readonly breakOK: boolean, readonly continueOK: boolean) {}

  next(): string {
    if (this.pos >= this.input.length) {
      this.atEOF = true
      return EOF
    }
    const cp = this.input.codePointAt(this.pos)!
    const r = String.fromCodePoint(cp)
    this.pos += r.length
    if (r === '\n') this.line++
    return r
  }
  peek(): string {
    const r = this.next()
    this.backup(r)
    return r
  }
  backup(r: string): void {
    if (!this.atEOF && this.pos > 0 && r !== EOF) {
      this.pos -= r.length
      if (r === '\n') this.line--
    }
  }
  emit(type: TokenType): void {
    this.items.push({type, pos: this.start, val: this.input.slice(this.start, this.pos), line: this.startLine})
    this.start = this.pos
    this.startLine = this.line
  }
  ignore(): void {
    this.line += count(this.input.slice(this.start, this.pos))
    this.start = this.pos
    this.startLine = this.line
  }
  accept(valid: string): boolean {
    const r = this.next()
    if (r !== EOF && valid.includes(r)) return true
    this.backup(r)
    return false
  }
  acceptRun(valid: string): void {
    for (;;) {
      const r = this.next()
      if (r === EOF || !valid.includes(r)) {
        this.backup(r)
        return
      }
    }
  }
  errorf(message: string): State {
    this.items.push({type: 'error', pos: this.start, val: message, line: this.startLine})
    return null
  }
  atRightDelim(): [boolean, boolean] {
    const rest = this.input.slice(this.pos)
    if (hasRightTrimMarker(rest) && rest.slice(TRIM_LEN).startsWith(RIGHT)) return [true, true]
    if (rest.startsWith(RIGHT)) return [true, false]
    return [false, false]
  }
  atTerminator(): boolean {
    const r = this.peek()
    if (isSpace(r)) return true
    if ([EOF, '.', ',', '|', ':', ')', '('].includes(r)) return true
    return this.input.startsWith(RIGHT, this.pos)
  }
}

/** Go's %#U of a character: U+0021 '!'. */
export function quoteRune(r: string): string {
  const hex = r.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')
  return `U+${hex} '${r}'`
}

function lexText(l: Lexer): State {
  const x = l.input.indexOf(LEFT, l.pos)
  if (x >= 0) {
    l.pos = x
    let trim = 0
    if (hasLeftTrimMarker(l.input.slice(l.pos + LEFT.length))) trim = trimRightLength(l.input.slice(l.start, l.pos))
    l.pos -= trim
    if (l.pos > l.start) {
      l.line += count(l.input.slice(l.start, l.pos))
      l.emit('text')
    }
    l.pos += trim
    l.ignore()
    return lexLeftDelim
  }
  l.pos = l.input.length
  if (l.pos > l.start) {
    l.line += count(l.input.slice(l.start, l.pos))
    l.emit('text')
  }
  l.emit('eof')
  return null
}

function lexLeftDelim(l: Lexer): State {
  l.pos += LEFT.length
  const trim = hasLeftTrimMarker(l.input.slice(l.pos))
  const after = trim ? TRIM_LEN : 0
  if (l.input.startsWith('/*', l.pos + after)) {
    l.pos += after
    l.ignore()
    return lexComment
  }
  l.emit('leftDelim')
  l.pos += after
  l.ignore()
  l.parenDepth = 0
  return lexInsideAction
}

function lexComment(l: Lexer): State {
  l.pos += 2
  const i = l.input.indexOf('*/', l.pos)
  if (i < 0) return l.errorf('unclosed comment')
  l.pos = i + 2
  const [delim, trim] = l.atRightDelim()
  if (!delim) return l.errorf('comment ends before closing delimiter')
  if (trim) l.pos += TRIM_LEN
  l.pos += RIGHT.length
  if (trim) l.pos += trimLeftLength(l.input.slice(l.pos))
  l.ignore()
  return lexText
}

function lexRightDelim(l: Lexer): State {
  const trim = hasRightTrimMarker(l.input.slice(l.pos))
  if (trim) {
    l.pos += TRIM_LEN
    l.ignore()
  }
  l.pos += RIGHT.length
  l.emit('rightDelim')
  if (trim) {
    l.pos += trimLeftLength(l.input.slice(l.pos))
    l.ignore()
  }
  return lexText
}

function lexInsideAction(l: Lexer): State {
  const [delim] = l.atRightDelim()
  if (delim) {
    if (l.parenDepth === 0) return lexRightDelim
    return l.errorf('unclosed left paren')
  }
  const r = l.next()
  if (r === EOF) return l.errorf('unclosed action')
  if (isSpace(r)) {
    l.backup(r)
    return lexSpace
  }
  switch (r) {
    case '=':
      l.emit('assign')
      return lexInsideAction
    case ':':
      if (l.next() !== '=') return l.errorf('expected :=')
      l.emit('declare')
      return lexInsideAction
    case '|':
      l.emit('pipe')
      return lexInsideAction
    case '"':
      return lexQuote
    case '`':
      return lexRawQuote
    case '$':
      return lexVariable
    case "'":
      return lexChar
    case '(':
      l.emit('leftParen')
      l.parenDepth++
      return lexInsideAction
    case ')':
      l.emit('rightParen')
      l.parenDepth--
      if (l.parenDepth < 0) return l.errorf(`unexpected right paren ${quoteRune(r)}`)
      return lexInsideAction
  }
  if (r === '.') {
    const c = l.input[l.pos]
    if (l.pos < l.input.length && (c < '0' || c > '9')) return lexField
  }
  if (r === '.' || r === '+' || r === '-' || (r >= '0' && r <= '9')) {
    l.backup(r)
    return lexNumber
  }
  if (isAlphaNumeric(r)) {
    l.backup(r)
    return lexIdentifier
  }
  const cp = r.codePointAt(0)!
  if (cp <= 0x7f && cp >= 0x20 && cp !== 0x7f) {
    l.emit('char')
    return lexInsideAction
  }
  return l.errorf(`unrecognized character in action: ${quoteRune(r)}`)
}

function lexSpace(l: Lexer): State {
  let spaces = 0
  while (isSpace(l.peek())) {
    l.next()
    spaces++
  }
  const rest = l.input.slice(l.pos - 1)
  if (hasRightTrimMarker(rest) && rest.slice(TRIM_LEN).startsWith(RIGHT)) {
    l.backup(l.input[l.pos - 1])
    if (spaces === 1) return lexRightDelim
  }
  l.emit('space')
  return lexInsideAction
}

function lexIdentifier(l: Lexer): State {
  for (;;) {
    const r = l.next()
    if (r !== EOF && isAlphaNumeric(r)) continue
    l.backup(r)
    const word = l.input.slice(l.start, l.pos)
    if (!l.atTerminator()) return l.errorf(`bad character ${quoteRune(r)}`)
    const kw = Object.hasOwn(KEYWORDS, word) ? KEYWORDS[word] : undefined
    if (kw && kw !== 'dot') {
      if ((kw === 'break' && !l.breakOK) || (kw === 'continue' && !l.continueOK)) l.emit('identifier')
      else l.emit(kw)
    } else if (word[0] === '.') l.emit('field')
    else if (word === 'true' || word === 'false') l.emit('bool')
    else l.emit('identifier')
    return lexInsideAction
  }
}

function lexVariable(l: Lexer): State {
  if (l.atTerminator()) {
    l.emit('variable')
    return lexInsideAction
  }
  return lexFieldOrVariable(l, 'variable')
}

function lexField(l: Lexer): State {
  return lexFieldOrVariable(l, 'field')
}

function lexFieldOrVariable(l: Lexer, type: 'field' | 'variable'): State {
  if (l.atTerminator()) {
    l.emit(type === 'variable' ? 'variable' : 'dot')
    return lexInsideAction
  }
  let r: string
  for (;;) {
    r = l.next()
    if (r === EOF || !isAlphaNumeric(r)) {
      l.backup(r)
      break
    }
  }
  if (!l.atTerminator()) return l.errorf(`bad character ${quoteRune(r)}`)
  l.emit(type)
  return lexInsideAction
}

/** A "…" string or a '…' character constant: backslash escapes, no newline. */
function lexQuoted(l: Lexer, quote: string, type: TokenType, unterminated: string): State {
  for (;;) {
    const r = l.next()
    if (r === '\\') {
      const e = l.next()
      if (e !== EOF && e !== '\n') continue
      return l.errorf(unterminated)
    }
    if (r === EOF || r === '\n') return l.errorf(unterminated)
    if (r === quote) break
  }
  l.emit(type)
  return lexInsideAction
}

const lexChar = (l: Lexer): State => lexQuoted(l, "'", 'charConstant', 'unterminated character constant')
const lexQuote = (l: Lexer): State => lexQuoted(l, '"', 'string', 'unterminated quoted string')

function scanNumber(l: Lexer): boolean {
  l.accept('+-')
  let digits = '0123456789_'
  if (l.accept('0')) {
    if (l.accept('xX')) digits = '0123456789abcdefABCDEF_'
    else if (l.accept('oO')) digits = '01234567_'
    else if (l.accept('bB')) digits = '01_'
  }
  l.acceptRun(digits)
  if (l.accept('.')) l.acceptRun(digits)
  if (digits.length === 11 && l.accept('eE')) {
    l.accept('+-')
    l.acceptRun('0123456789_')
  }
  if (digits.length === 23 && l.accept('pP')) {
    l.accept('+-')
    l.acceptRun('0123456789_')
  }
  l.accept('i')
  const p = l.peek()
  if (p !== EOF && isAlphaNumeric(p)) {
    l.next()
    return false
  }
  return true
}

function lexNumber(l: Lexer): State {
  if (!scanNumber(l)) return l.errorf(`bad number syntax: ${JSON.stringify(l.input.slice(l.start, l.pos))}`)
  const sign = l.peek()
  if (sign === '+' || sign === '-') {
    if (!scanNumber(l) || l.input[l.pos - 1] !== 'i') {
      return l.errorf(`bad number syntax: ${JSON.stringify(l.input.slice(l.start, l.pos))}`)
    }
    l.emit('complex')
  } else l.emit('number')
  return lexInsideAction
}

function lexRawQuote(l: Lexer): State {
  for (;;) {
    const r = l.next()
    if (r === EOF) return l.errorf('unterminated raw quoted string')
    if (r === '`') break
  }
  l.emit('rawString')
  return lexInsideAction
}

/** All tokens of `input`, ending with 'eof' or with the 'error' that stopped the lexer. */
export function lex(input: string, options: {breakOK: boolean; continueOK: boolean}): Token[] {
  const l = new Lexer(input, options.breakOK, options.continueOK)
  for (let state: State = lexText; state !== null; ) state = state(l)
  return l.items
}
