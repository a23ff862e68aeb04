/**
 * The parser of Go's text/template (a port of text/template/parse/parse.go, Go 1.19): tokens become a
 * tree per template; `define` and `block` add named trees to the set. Errors read as Go's
 * ("template: NAME:LINE: MESSAGE"); a function not in `funcs` is an error here, as in Go.
 */
import {isKeyword, lex, type Token} from './lexer.js'
import type {
  ActionNode, ArgNode, CommandNode, ListNode, Node, NumberNode, PipeNode, VariableNode,
} from './nodes.js'
import {nodeString} from './nodes.js'
import {goQuote, goUnquote} from './quote.js'
import {TemplateError} from './error.js'

/** One parsed template: its tree and the text and file name its positions refer to. */
export interface Tree {
  name: string
  parseName: string
  text: string
  root: ListNode
}

export type TreeSet = Map<string, Tree>

function tokenString(t: Token): string {
  if (t.type === 'eof') return 'EOF'
  if (t.type === 'error') return t.val
  if (isKeyword(t.type)) return `<${t.val}>`
  const chars = [...t.val]
  if (chars.length > 10) return `${goQuote(chars.slice(0, 10).join(''))}...`
  return goQuote(t.val)
}

function isEmptyTree(n: Node): boolean {
  if (n.kind === 'list') return n.nodes.every(isEmptyTree)
  if (n.kind === 'text') return n.text.trim() === ''
  return false
}

class Parser {
  private tokens: Token[]
  private index = 0
  private vars: string[] = ['$']
  private rangeDepth = 0
  private actionLine = 0
  private furthest = 0

  constructor(
    private readonly parseName: string,
    private readonly text: string,
    private readonly funcs: ReadonlySet<string>,
    private readonly treeSet: TreeSet,
  ) {
    this.tokens = lex(text, {breakOK: !funcs.has('break'), continueOK: !funcs.has('continue')})
  }

  errorf(message: string): never {
    // Go reports the line of the furthest token its lookahead has read.
    const line = this.tokens[Math.min(this.furthest, this.tokens.length - 1)].line
    throw new TemplateError(`template: ${this.parseName}:${line}: ${message}`, this.parseName, line)
  }

  next(): Token {
    const t = this.tokens[Math.min(this.index, this.tokens.length - 1)]
    this.furthest = Math.max(this.furthest, this.index)
    this.index++
    return t
  }
  backup(n = 1): void {
    this.index -= n
  }
  peek(): Token {
    this.furthest = Math.max(this.furthest, this.index)
    return this.tokens[Math.min(this.index, this.tokens.length - 1)]
  }
  nextNonSpace(): Token {
    let t: Token
    do t = this.next()
    while (t.type === 'space')
    return t
  }
  peekNonSpace(): Token {
    const t = this.nextNonSpace()
    this.backup()
    return t
  }
  expect(type: Token['type'], context: string): Token {
    const t = this.nextNonSpace()
    if (t.type !== type) this.unexpected(t, context)
    return t
  }
  unexpected(t: Token, context: string): never {
    if (t.type === 'error') {
      let extra = ''
      if (this.actionLine !== 0 && this.actionLine !== t.line) {
        extra = ` in action started at ${this.parseName}:${this.actionLine}`
        if (t.val.endsWith(' action')) extra = extra.slice(' in action'.length)
      }
      this.errorf(`${tokenString(t)}${extra}`)
    }
    this.errorf(`unexpected ${tokenString(t)} in ${context}`)
  }
  unquote(t: Token): string {
    const s = goUnquote(t.val)
    if (s === null) this.errorf('invalid syntax')
    return s
  }

  add(name: string, root: ListNode): void {
    const existing = this.treeSet.get(name)
    if (existing === undefined || isEmptyTree(existing.root)) {
      this.treeSet.set(name, {name, parseName: this.parseName, text: this.text, root})
      return
    }
    if (!isEmptyTree(root)) this.errorf(`template: multiple definition of template ${goQuote(name)}`)
  }

  parse(name: string): void {
    const root: ListNode = {kind: 'list', pos: this.peek().pos, nodes: []}
    while (this.peek().type !== 'eof') {
      if (this.peek().type === 'leftDelim') {
        const mark = this.index
        this.next()
        if (this.nextNonSpace().type === 'define') {
          this.parseDefinition()
          continue
        }
        this.index = mark
      }
      const n = this.textOrAction()
      if (n.kind === 'end' || n.kind === 'else') this.errorf(`unexpected ${nodeString(n)}`)
      root.nodes.push(n)
    }
    this.add(name, root)
  }

  parseDefinition(): void {
    const context = 'define clause'
    const t = this.nextNonSpace()
    if (t.type !== 'string' && t.type !== 'rawString') this.unexpected(t, context)
    const name = this.unquote(t)
    this.expect('rightDelim', context)
    const [root, end] = this.nested(() => this.itemList())
    if (end.kind !== 'end') this.errorf(`unexpected ${nodeString(end)} in ${context}`)
    this.add(name, root)
  }

  /** A define or block body: its own variables ($ only) and no enclosing range. */
  nested<T>(parse: () => T): T {
    const [vars, depth] = [this.vars, this.rangeDepth]
    this.vars = ['$']
    this.rangeDepth = 0
    try {
      return parse()
    } finally {
      ;[this.vars, this.rangeDepth] = [vars, depth]
    }
  }

  itemList(): [ListNode, Node] {
    const list: ListNode = {kind: 'list', pos: this.peekNonSpace().pos, nodes: []}
    while (this.peekNonSpace().type !== 'eof') {
      const n = this.textOrAction()
      if (n.kind === 'end' || n.kind === 'else') return [list, n]
      list.nodes.push(n)
    }
    this.errorf('unexpected EOF')
  }

  textOrAction(): Node {
    const t = this.nextNonSpace()
    if (t.type === 'text') return {kind: 'text', pos: t.pos, text: t.val}
    if (t.type === 'leftDelim') {
      this.actionLine = t.line
      try {
        return this.action()
      } finally {
        this.actionLine = 0
      }
    }
    this.unexpected(t, 'input')
  }

  action(): Node {
    const t = this.nextNonSpace()
    switch (t.type) {
      case 'block': return this.blockControl()
      case 'break': case 'continue': {
        const n = this.nextNonSpace()
        if (n.type !== 'rightDelim') this.unexpected(n, `{{${t.type}}}`)
        if (this.rangeDepth === 0) this.errorf(`{{${t.type}}} outside {{range}}`)
        return {kind: t.type, pos: t.pos, line: t.line}
      }
      case 'else': return this.elseControl()
      case 'end': return {kind: 'end', pos: this.expect('rightDelim', 'end').pos}
      case 'if': return {kind: 'if', ...this.parseControl(true, 'if')}
      case 'range': return {kind: 'range', ...this.parseControl(false, 'range')}
      case 'with': return {kind: 'with', ...this.parseControl(false, 'with')}
      case 'template': return this.templateControl()
    }
    this.backup()
    const p = this.peek()
    const action: ActionNode = {kind: 'action', pos: p.pos, line: p.line, pipe: this.pipeline('command', 'rightDelim')}
    return action
  }

  pipeline(context: string, end: 'rightDelim' | 'rightParen'): PipeNode {
    const t = this.peekNonSpace()
    const pipe: PipeNode = {kind: 'pipe', pos: t.pos, line: t.line, isAssign: false, decl: [], cmds: []}
    decls: for (;;) {
      const v = this.peekNonSpace()
      if (v.type !== 'variable') break
      const mark = this.index
      this.nextNonSpace()
      const next = this.peekNonSpace()
      if (next.type === 'assign' || next.type === 'declare') {
        pipe.isAssign = next.type === 'assign'
        this.nextNonSpace()
        pipe.decl.push({kind: 'variable', pos: v.pos, ident: [v.val]})
        this.vars.push(v.val)
      } else if (next.type === 'char' && next.val === ',') {
        this.nextNonSpace()
        pipe.decl.push({kind: 'variable', pos: v.pos, ident: [v.val]})
        this.vars.push(v.val)
        if (context === 'range' && pipe.decl.length < 2) {
          const p = this.peekNonSpace().type
          if (p === 'variable' || p === 'rightDelim' || p === 'rightParen') continue decls
          this.errorf('range can only initialize variables')
        }
        this.errorf(`too many declarations in ${context}`)
      } else {
        this.index = mark
      }
      break
    }
    for (;;) {
      const t = this.nextNonSpace()
      if (t.type === end) {
        this.checkPipeline(pipe, context)
        return pipe
      }
      switch (t.type) {
        case 'bool': case 'charConstant': case 'complex': case 'dot': case 'field': case 'identifier':
        case 'number': case 'nil': case 'rawString': case 'string': case 'variable': case 'leftParen':
          this.backup()
          pipe.cmds.push(this.command())
          break
        default:
          this.unexpected(t, context)
      }
    }
  }

  checkPipeline(pipe: PipeNode, context: string): void {
    if (pipe.cmds.length === 0) this.errorf(`missing value for ${context}`)
    pipe.cmds.slice(1).forEach((c, i) => {
      if (['bool', 'dot', 'nil', 'number', 'string'].includes(c.args[0].kind)) {
        this.errorf(`non executable command in pipeline stage ${i + 2}`)
      }
    })
  }

  parseControl(allowElseIf: boolean, context: string): {pos: number; line: number; pipe: PipeNode; list: ListNode; elseList: ListNode | null} {
    const varCount = this.vars.length
    try {
      const pipe = this.pipeline(context, 'rightDelim')
      if (context === 'range') this.rangeDepth++
      const [list, first] = this.itemList()
      let next = first
      if (context === 'range') this.rangeDepth--
      let elseList: ListNode | null = null
      if (next.kind === 'else') {
        if (allowElseIf && this.peek().type === 'if') {
          this.next()
          elseList = {kind: 'list', pos: next.pos, nodes: [{kind: 'if', ...this.parseControl(true, 'if')}]}
        } else {
          ;[elseList, next] = this.itemList()
          if (next.kind !== 'end') this.errorf(`expected end; found ${nodeString(next)}`)
        }
      }
      return {pos: pipe.pos, line: pipe.line, pipe, list, elseList}
    } finally {
      this.vars.length = varCount
    }
  }

  elseControl(): Node {
    const peek = this.peekNonSpace()
    if (peek.type === 'if') return {kind: 'else', pos: peek.pos, line: peek.line}
    const t = this.expect('rightDelim', 'else')
    return {kind: 'else', pos: t.pos, line: t.line}
  }

  templateName(t: Token, context: string): string {
    if (t.type !== 'string' && t.type !== 'rawString') this.unexpected(t, context)
    return this.unquote(t)
  }

  blockControl(): Node {
    const context = 'block clause'
    const t = this.nextNonSpace()
    const name = this.templateName(t, context)
    const pipe = this.pipeline(context, 'rightDelim')
    const [root, end] = this.nested(() => this.itemList())
    if (end.kind !== 'end') this.errorf(`unexpected ${nodeString(end)} in ${context}`)
    this.add(name, root)
    return {kind: 'template', pos: t.pos, line: t.line, name, pipe}
  }

  templateControl(): Node {
    const context = 'template clause'
    const t = this.nextNonSpace()
    const name = this.templateName(t, context)
    let pipe: PipeNode | null = null
    if (this.nextNonSpace().type !== 'rightDelim') {
      this.backup()
      pipe = this.pipeline(context, 'rightDelim')
    }
    return {kind: 'template', pos: t.pos, line: t.line, name, pipe}
  }

  command(): CommandNode {
    const cmd: CommandNode = {kind: 'command', pos: this.peekNonSpace().pos, args: []}
    for (;;) {
      this.peekNonSpace()
      const operand = this.operand()
      if (operand !== null) cmd.args.push(operand)
      const t = this.next()
      if (t.type === 'space') continue
      if (t.type === 'rightDelim' || t.type === 'rightParen') this.backup()
      else if (t.type !== 'pipe') this.unexpected(t, 'operand')
      break
    }
    if (cmd.args.length === 0) this.errorf('empty command')
    return cmd
  }

  operand(): ArgNode | null {
    let node = this.term()
    if (node === null) return null
    if (this.peek().type === 'field') {
      const pos = this.peek().pos
      const fields: string[] = []
      while (this.peek().type === 'field') fields.push(this.next().val.slice(1))
      switch (node.kind) {
        case 'field': node = {kind: 'field', pos, ident: [...node.ident, ...fields]}; break
        case 'variable': node = {kind: 'variable', pos, ident: [...node.ident, ...fields]}; break
        case 'bool': case 'string': case 'number': case 'nil': case 'dot':
          this.errorf(`unexpected . after term ${goQuote(nodeString(node))}`)
        default: node = {kind: 'chain', pos, node, field: fields}
      }
    }
    return node
  }

  term(): ArgNode | null {
    const t = this.nextNonSpace()
    switch (t.type) {
      case 'identifier':
        if (!this.funcs.has(t.val)) this.errorf(`function ${goQuote(t.val)} not defined`)
        return {kind: 'identifier', pos: t.pos, ident: t.val}
      case 'dot': return {kind: 'dot', pos: t.pos}
      case 'nil': return {kind: 'nil', pos: t.pos}
      case 'variable': return this.useVar(t)
      case 'field': return {kind: 'field', pos: t.pos, ident: t.val.slice(1).split('.')}
      case 'bool': return {kind: 'bool', pos: t.pos, value: t.val === 'true'}
      case 'charConstant': case 'complex': case 'number': return this.number(t)
      case 'leftParen': return this.pipeline('parenthesized pipeline', 'rightParen')
      case 'string': case 'rawString': return {kind: 'string', pos: t.pos, quoted: t.val, text: this.unquote(t)}
    }
    this.backup()
    return null
  }

  useVar(t: Token): VariableNode {
    const ident = t.val.split('.')
    if (!this.vars.includes(ident[0])) this.errorf(`undefined variable ${goQuote(ident[0])}`)
    return {kind: 'variable', pos: t.pos, ident}
  }

  number(t: Token): NumberNode {
    const n = parseNumber(t.val, t.type)
    if (typeof n === 'string') this.errorf(n)
    return {...n, pos: t.pos}
  }
}

/** Go's NumberNode rules: integers stay exact (bigint), floats that are integral are ints too. */
function parseNumber(text: string, type: Token['type']): Omit<NumberNode, 'pos'> | string {
  const base = {kind: 'number' as const, text, isInt: false, isFloat: false, isComplex: false, int: 0n, float: 0}
  if (type === 'charConstant') {
    const s = goUnquote(text)
    if (s === null) return 'invalid syntax'
    const cp = BigInt(s.codePointAt(0)!)
    return {...base, isInt: true, isFloat: true, int: cp, float: Number(cp)}
  }
  if (type === 'complex' || text.endsWith('i')) return {...base, isComplex: true}
  const clean = text.replace(/_/g, '')
  const int = parseGoInt(clean)
  if (int !== null) {
    if (int > 0x7fffffffffffffffn || int < -0x8000000000000000n) {
      if (int <= 0xffffffffffffffffn && int >= 0n) return {...base, isFloat: true, float: Number(int)}
      return `integer overflow: ${goQuote(text)}`
    }
    return {...base, isInt: true, isFloat: true, int, float: Number(int)}
  }
  if (/^[+-]?0[xX]/.test(clean)) return `illegal number syntax: ${goQuote(text)}`
  const f = Number(clean)
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(clean) || Number.isNaN(f)) {
    return `illegal number syntax: ${goQuote(text)}`
  }
  const out = {...base, isFloat: true, float: f}
  if (Number.isInteger(f) && Math.abs(f) < 2 ** 63) return {...out, isInt: true, int: BigInt(f)}
  return out
}

function parseGoInt(s: string): bigint | null {
  const m = /^([+-]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$/.exec(s)
  if (!m) return null
  let body = m[2]
  if (/^0[0-7]+$/.test(body)) body = `0o${body.slice(1)}`
  const v = BigInt(body)
  return m[1] === '-' ? -v : v
}

/**
 * Parses `text` as the template `name`, adding its trees to `set`. Within one text a template defined twice
 * is an error; a later text's definition replaces an earlier one unless it is empty, as Go associates them.
 */
export function parseTemplate(name: string, text: string, funcs: ReadonlySet<string>, set: TreeSet): void {
  const parsed: TreeSet = new Map()
  new Parser(name, text, funcs, parsed).parse(name)
  for (const [n, tree] of parsed) {
    if (set.has(n) && isEmptyTree(tree.root)) continue
    set.set(n, tree)
  }
}
