/**
 * The executor of Go's text/template (after text/template/exec.go, Go 1.19): walks a tree with a dot and
 * a variable stack, calls functions with Go's argument rules, and prints values with fmt's %v.
 */
import {TemplateError} from './error.js'
import {formatValue} from './format.js'
import type {ArgNode, BranchNode, ChainNode, CommandNode, FieldNode, IdentifierNode, Node, RangeNode, NumberNode, PipeNode, VariableNode} from './nodes.js'
import {nodeString} from './nodes.js'
import {goQuote} from './quote.js'
import type {Tree, TreeSet} from './parser.js'
import {isMap, isTrue, sortedKeys, typeName, type GoFunc, type Value} from './values.js'

/** What a parameter accepts, as Go's reflection would: interface {}, reflect.Value or a concrete type. */
export type ParamKind = 'any' | 'value' | 'string' | 'int' | 'float' | 'bool' | 'map'

export interface GoFunction {
  params: ParamKind[]
  variadic?: ParamKind
  call: (...args: Value[]) => Value
}

export type FuncMap = ReadonlyMap<string, GoFunction>

const GO_TYPE: Record<ParamKind, string> = {
  any: 'interface {}', value: 'reflect.Value', string: 'string', int: 'int', float: 'float64', bool: 'bool',
  map: 'map[string]interface {}',
}

const MISSING = Symbol('missing')
type Final = Value | typeof MISSING
const BREAK = Symbol('break')
const CONTINUE = Symbol('continue')
const MAX_DEPTH = 100000

interface Variable {
  name: string
  value: Value
}

/** A method value found on a map (`.Files.Get`): called with the command's arguments, any types. */
const methodOf = (fn: GoFunc): GoFunction => ({params: [], variadic: 'any', call: fn})

export class Executor {
  private out: string[] = []
  private vars: Variable[] = []
  private node: Node | null = null
  private depth = 0

  constructor(private tree: Tree, private readonly trees: TreeSet, private readonly funcs: FuncMap) {}

  execute(dot: Value): string {
    this.vars = [{name: '$', value: dot}]
    this.walk(dot, this.tree.root)
    return this.out.join('')
  }

  private at(node: Node): void {
    this.node = node
  }

  errorf(message: string): never {
    const name = this.tree.name
    if (this.node === null) throw new TemplateError(`template: ${name}: ${message}`, this.tree.parseName, 0)
    const before = this.tree.text.slice(0, this.node.pos)
    const nl = before.lastIndexOf('\n')
    const line = before.split('\n').length
    const column = Buffer.byteLength(nl === -1 ? before : before.slice(nl + 1))
    const where = `${this.tree.parseName}:${line}:${column}`
    throw new TemplateError(
      `template: ${where}: executing ${goQuote(name)} at <${nodeString(this.node)}>: ${message}`,
      this.tree.parseName, line, column,
    )
  }

  private walk(dot: Value, node: Node): void {
    this.at(node)
    switch (node.kind) {
      case 'action': {
        const val = this.evalPipeline(dot, node.pipe)
        if (node.pipe.decl.length === 0) this.printValue(node, val)
        return
      }
      case 'break': throw BREAK
      case 'continue': throw CONTINUE
      case 'if': case 'with': return this.walkIfOrWith(node.kind, dot, node)
      case 'list':
        for (const n of node.nodes) this.walk(dot, n)
        return
      case 'range': return this.walkRange(dot, node)
      case 'template': {
        const tree = this.trees.get(node.name)
        if (tree === undefined) this.errorf(`template ${goQuote(node.name)} not defined`)
        if (this.depth === MAX_DEPTH) this.errorf(`exceeded maximum template depth (${MAX_DEPTH})`)
        const newDot = node.pipe ? this.evalPipeline(dot, node.pipe) : undefined
        const saved = {tree: this.tree, vars: this.vars}
        this.depth++
        this.tree = tree
        this.vars = [{name: '$', value: newDot}]
        try {
          this.walk(newDot, tree.root)
        } finally {
          this.depth--
          this.tree = saved.tree
          this.vars = saved.vars
        }
        return
      }
      case 'text':
        this.out.push(node.text)
        return
      default:
        this.errorf(`unknown node: ${nodeString(node)}`)
    }
  }

  private walkIfOrWith(kind: 'if' | 'with', dot: Value, node: BranchNode): void {
    const mark = this.vars.length
    try {
      const val = this.evalPipeline(dot, node.pipe)
      if (typeof val === 'function') this.errorf(`if/with can't use ${formatValue(val)}`)
      if (isTrue(val)) this.walk(kind === 'with' ? val : dot, node.list)
      else if (node.elseList) this.walk(dot, node.elseList)
    } finally {
      this.vars.length = mark
    }
  }

  private walkRange(dot: Value, node: RangeNode): void {
    this.at(node)
    const outer = this.vars.length
    try {
      const val = this.evalPipeline(dot, node.pipe)
      const mark = this.vars.length
      const iteration = (index: Value, elem: Value): boolean => {
        if (node.pipe.decl.length > 0) this.vars[this.vars.length - 1].value = elem
        if (node.pipe.decl.length > 1) this.vars[this.vars.length - 2].value = index
        try {
          this.walk(elem, node.list)
        } catch (e) {
          if (e === BREAK) return false
          if (e !== CONTINUE) throw e
        } finally {
          this.vars.length = mark
        }
        return true
      }
      if (Array.isArray(val)) {
        if (val.length > 0) {
          for (let i = 0; i < val.length; i++) if (!iteration(BigInt(i), val[i])) break
          return
        }
      } else if (isMap(val)) {
        const keys = sortedKeys(val)
        if (keys.length > 0) {
          for (const k of keys) if (!iteration(k, val[k])) break
          return
        }
      } else if (val !== undefined && val !== null) {
        this.errorf(`range can't iterate over ${formatValue(val)}`)
      }
      if (node.elseList) this.walk(dot, node.elseList)
    } finally {
      this.vars.length = outer
    }
  }

  private evalPipeline(dot: Value, pipe: PipeNode): Value {
    this.at(pipe)
    let value: Final = MISSING
    for (const cmd of pipe.cmds) {
      value = this.evalCommand(dot, cmd, value)
      // Go digs a nil interface out of its box: what comes out of a command is then no value at all.
      if (value === null) value = undefined
    }
    const result = value as Value
    for (const v of pipe.decl) {
      if (pipe.isAssign) this.setVar(v.ident[0], result)
      else this.vars.push({name: v.ident[0], value: result})
    }
    return result
  }

  private setVar(name: string, value: Value): void {
    for (let i = this.vars.length - 1; i >= 0; i--) {
      if (this.vars[i].name === name) {
        this.vars[i].value = value
        return
      }
    }
    this.errorf(`undefined variable: ${name}`)
  }

  private varValue(name: string): Value {
    for (let i = this.vars.length - 1; i >= 0; i--) if (this.vars[i].name === name) return this.vars[i].value
    this.errorf(`undefined variable: ${name}`)
  }

  private notAFunction(args: ArgNode[], final: Final): void {
    if (args.length > 1 || final !== MISSING) this.errorf(`can't give argument to non-function ${nodeString(args[0])}`)
  }

  private evalCommand(dot: Value, cmd: CommandNode, final: Final): Value {
    const first = cmd.args[0]
    switch (first.kind) {
      case 'field': return this.evalFieldNode(dot, first, cmd.args, final)
      case 'chain': return this.evalChainNode(dot, first, cmd.args, final)
      case 'identifier': return this.evalFunction(dot, first, cmd, cmd.args, final)
      case 'pipe':
        this.notAFunction(cmd.args, final)
        return this.evalPipeline(dot, first)
      case 'variable': return this.evalVariableNode(dot, first, cmd.args, final)
    }
    this.at(first)
    this.notAFunction(cmd.args, final)
    switch (first.kind) {
      case 'bool': return first.value
      case 'dot': return dot
      case 'nil': this.errorf('nil is not a command')
      // falls through: errorf never returns
      case 'number': return this.idealConstant(first)
      case 'string': return first.text
    }
  }

  private idealConstant(n: NumberNode): Value {
    this.at(n)
    if (n.isComplex) this.errorf('complex numbers are not supported')
    if (n.isFloat && !/^[+-]?0[xX]/.test(n.text) && !n.text.startsWith("'") && /[.eEpP]/.test(n.text)) return n.float
    if (n.isInt) return n.int
    this.errorf(`${n.text} overflows int`)
  }

  private evalFieldNode(dot: Value, field: FieldNode, args: ArgNode[], final: Final): Value {
    this.at(field)
    return this.evalFieldChain(dot, dot, field, field.ident, args, final)
  }

  private evalChainNode(dot: Value, chain: ChainNode, args: ArgNode[], final: Final): Value {
    this.at(chain)
    if (chain.node.kind === 'nil') this.errorf(`indirection through explicit nil in ${nodeString(chain)}`)
    const pipe = this.evalArg(dot, 'any', chain.node)
    return this.evalFieldChain(dot, pipe, chain, chain.field, args, final)
  }

  private evalVariableNode(dot: Value, variable: VariableNode, args: ArgNode[], final: Final): Value {
    this.at(variable)
    const value = this.varValue(variable.ident[0])
    if (variable.ident.length === 1) {
      this.notAFunction(args, final)
      return value
    }
    return this.evalFieldChain(dot, value, variable, variable.ident.slice(1), args, final)
  }

  private evalFieldChain(dot: Value, receiver: Value, node: Node, ident: string[], args: ArgNode[], final: Final): Value {
    for (let i = 0; i < ident.length - 1; i++) receiver = this.evalField(dot, ident[i], node, [], MISSING, receiver, i > 0)
    return this.evalField(dot, ident[ident.length - 1], node, args, final, receiver, ident.length > 1)
  }

  /** `boxed`: the receiver came out of a map, so Go sees it as an interface {} (errors name that type). */
  private evalField(dot: Value, name: string, node: Node, args: ArgNode[], final: Final, receiver: Value, boxed: boolean): Value {
    if (receiver === undefined) return undefined
    if (receiver === null) this.errorf(`nil pointer evaluating interface {}.${name}`)
    if (isMap(receiver)) {
      const member = Object.prototype.hasOwnProperty.call(receiver, name) ? receiver[name] : undefined
      if (typeof member === 'function') return this.evalCall(dot, methodOf(member), node, name, args, final)
      if (args.length > 1 || final !== MISSING) this.errorf(`${name} is not a method but has arguments`)
      return member
    }
    this.errorf(`can't evaluate field ${name} in type ${boxed ? 'interface {}' : typeName(receiver)}`)
  }

  private evalFunction(dot: Value, node: IdentifierNode, cmd: Node, args: ArgNode[], final: Final): Value {
    this.at(node)
    const fn = this.funcs.get(node.ident)
    if (fn === undefined) this.errorf(`${goQuote(node.ident)} is not a defined function`)
    return this.evalCall(dot, fn, cmd, node.ident, args, final)
  }

  private evalCall(dot: Value, fn: GoFunction, node: Node, name: string, allArgs: ArgNode[], final: Final): Value {
    const args = allArgs.slice(1)
    const numIn = args.length + (final !== MISSING ? 1 : 0)
    const numFixed = fn.variadic ? fn.params.length : args.length
    if (fn.variadic) {
      if (numIn < numFixed) this.errorf(`wrong number of args for ${name}: want at least ${fn.params.length} got ${args.length}`)
    } else if (numIn !== fn.params.length) {
      this.errorf(`wrong number of args for ${name}: want ${fn.params.length} got ${numIn}`)
    }
    if (name === 'and' || name === 'or') {
      let v: Value
      for (const arg of args) {
        v = this.evalArg(dot, 'value', arg)
        if (isTrue(v) === (name === 'or')) return v
      }
      if (final !== MISSING) v = this.validateType(final, 'value')
      return v
    }
    const argv: Value[] = []
    let i = 0
    for (; i < numFixed && i < args.length; i++) argv.push(this.evalArg(dot, fn.params[i], args[i]))
    if (fn.variadic) for (; i < args.length; i++) argv.push(this.evalArg(dot, fn.variadic, args[i]))
    if (final !== MISSING) {
      let kind: ParamKind
      if (!fn.variadic) kind = fn.params[fn.params.length - 1]
      else if (numIn - 1 < numFixed) kind = fn.params[numIn - 1]
      else kind = fn.variadic
      argv.push(this.validateType(final, kind))
    }
    try {
      return fn.call(...argv)
    } catch (e) {
      if (e === BREAK || e === CONTINUE) throw e
      const message = e instanceof Error ? e.message : String(e)
      this.at(node)
      this.errorf(`error calling ${name}: ${message}`)
    }
  }

  private validateType(value: Value, kind: ParamKind): Value {
    if (value === undefined) {
      if (kind === 'any' || kind === 'map') return null
      if (kind === 'value') return undefined
      this.errorf(`invalid value; expected ${GO_TYPE[kind]}`)
    }
    const ok =
      kind === 'any' || kind === 'value' ||
      (kind === 'string' && typeof value === 'string') ||
      (kind === 'int' && typeof value === 'bigint') ||
      (kind === 'float' && typeof value === 'number') ||
      (kind === 'bool' && typeof value === 'boolean') ||
      (kind === 'map' && isMap(value))
    if (!ok) this.errorf(`wrong type for value; expected ${GO_TYPE[kind]}; got ${value === null ? 'interface {}' : typeName(value)}`)
    return value
  }

  private evalArg(dot: Value, kind: ParamKind, n: ArgNode): Value {
    this.at(n)
    switch (n.kind) {
      case 'dot': return this.validateType(dot, kind)
      case 'nil':
        if (kind === 'any' || kind === 'value' || kind === 'map') return null
        this.errorf(`cannot assign nil to ${GO_TYPE[kind]}`)
      // falls through: errorf never returns
      case 'field': return this.validateType(this.evalFieldNode(dot, n, [n], MISSING), kind)
      case 'variable': return this.validateType(this.evalVariableNode(dot, n, [], MISSING), kind)
      case 'pipe': return this.validateType(this.evalPipeline(dot, n), kind)
      case 'identifier': return this.validateType(this.evalFunction(dot, n, n, [], MISSING), kind)
      case 'chain': return this.validateType(this.evalChainNode(dot, n, [], MISSING), kind)
    }
    switch (kind) {
      case 'bool':
        if (n.kind === 'bool') return n.value
        this.errorf(`expected bool; found ${nodeString(n)}`)
      // falls through: errorf never returns
      case 'string':
        if (n.kind === 'string') return n.text
        this.errorf(`expected string; found ${nodeString(n)}`)
      // falls through: errorf never returns
      case 'int':
        if (n.kind === 'number' && n.isInt) return n.int
        this.errorf(`expected integer; found ${nodeString(n)}`)
      // falls through: errorf never returns
      case 'float':
        if (n.kind === 'number' && n.isFloat) return n.float
        this.errorf(`expected float; found ${nodeString(n)}`)
      // falls through: errorf never returns
      case 'any': case 'value':
        return this.evalEmptyInterface(n)
    }
    this.errorf(`can't handle ${nodeString(n)} for arg of type ${GO_TYPE[kind]}`)
  }

  private evalEmptyInterface(n: ArgNode): Value {
    this.at(n)
    switch (n.kind) {
      case 'bool': return n.value
      case 'number': return this.idealConstant(n)
      case 'string': return n.text
    }
    this.errorf(`can't handle assignment of ${nodeString(n)} to empty interface argument`)
  }

  private printValue(n: Node, v: Value): void {
    this.at(n)
    if (v === undefined) {
      this.out.push('<no value>')
      return
    }
    if (typeof v === 'function') this.errorf(`can't print ${nodeString(n)} of type func`)
    this.out.push(formatValue(v))
  }
}

