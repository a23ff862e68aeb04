/** The parse tree of a Go template (text/template/parse/node.go), with Go's String() of each node, which
 *  error messages quote. `pos` is the offset of the node in its template's text. */
import {goQuote} from './quote.js'

export type Node =
  | TextNode | ActionNode | IfNode | RangeNode | WithNode | TemplateNode | BreakNode | ContinueNode
  | ListNode | PipeNode | CommandNode | ArgNode | EndNode | ElseNode

export interface ListNode { kind: 'list'; pos: number; nodes: Node[] }
export interface TextNode { kind: 'text'; pos: number; text: string }
export interface PipeNode {
  kind: 'pipe'; pos: number; line: number; isAssign: boolean; decl: VariableNode[]; cmds: CommandNode[]
}
export interface ActionNode { kind: 'action'; pos: number; line: number; pipe: PipeNode }
export interface CommandNode { kind: 'command'; pos: number; args: ArgNode[] }
export interface BranchNode {
  pos: number; line: number; pipe: PipeNode; list: ListNode; elseList: ListNode | null
}
export interface IfNode extends BranchNode { kind: 'if' }
export interface RangeNode extends BranchNode { kind: 'range' }
export interface WithNode extends BranchNode { kind: 'with' }
export interface TemplateNode { kind: 'template'; pos: number; line: number; name: string; pipe: PipeNode | null }
export interface BreakNode { kind: 'break'; pos: number; line: number }
export interface ContinueNode { kind: 'continue'; pos: number; line: number }
export interface EndNode { kind: 'end'; pos: number }
export interface ElseNode { kind: 'else'; pos: number; line: number }

export interface IdentifierNode { kind: 'identifier'; pos: number; ident: string }
export interface VariableNode { kind: 'variable'; pos: number; ident: string[] }
export interface DotNode { kind: 'dot'; pos: number }
export interface NilNode { kind: 'nil'; pos: number }
export interface FieldNode { kind: 'field'; pos: number; ident: string[] }
export interface ChainNode { kind: 'chain'; pos: number; node: ArgNode; field: string[] }
export interface BoolNode { kind: 'bool'; pos: number; value: boolean }
export interface StringNode { kind: 'string'; pos: number; quoted: string; text: string }
export interface NumberNode {
  kind: 'number'; pos: number; text: string
  isInt: boolean; isFloat: boolean; isComplex: boolean; int: bigint; float: number
}
export type ArgNode =
  | IdentifierNode | VariableNode | DotNode | NilNode | FieldNode | ChainNode | BoolNode | StringNode
  | NumberNode | PipeNode

export function nodeString(n: Node): string {
  switch (n.kind) {
    case 'list': return n.nodes.map(nodeString).join('')
    case 'text': return n.text
    case 'action': return `{{${nodeString(n.pipe)}}}`
    case 'pipe': {
      const decl = n.decl.length > 0 ? `${n.decl.map(nodeString).join(', ')} := ` : ''
      return decl + n.cmds.map(nodeString).join(' | ')
    }
    case 'command':
      return n.args.map((a) => (a.kind === 'pipe' ? `(${nodeString(a)})` : nodeString(a))).join(' ')
    case 'if': case 'range': case 'with': {
      const elseText = n.elseList ? `{{else}}${nodeString(n.elseList)}` : ''
      return `{{${n.kind} ${nodeString(n.pipe)}}}${nodeString(n.list)}${elseText}{{end}}`
    }
    case 'template': return `{{template ${goQuote(n.name)}${n.pipe ? ` ${nodeString(n.pipe)}` : ''}}}`
    case 'break': return '{{break}}'
    case 'continue': return '{{continue}}'
    case 'end': return '{{end}}'
    case 'else': return '{{else}}'
    case 'identifier': return n.ident
    case 'variable': return n.ident.join('.')
    case 'dot': return '.'
    case 'nil': return 'nil'
    case 'field': return n.ident.map((i) => `.${i}`).join('')
    case 'chain':
      return (n.node.kind === 'pipe' ? `(${nodeString(n.node)})` : nodeString(n.node)) + n.field.map((f) => `.${f}`).join('')
    case 'bool': return String(n.value)
    case 'string': return n.quoted
    case 'number': return n.text
  }
}
