import {render, TemplateError} from '../../../../src/config/template/index.js'

function errorOf(f: () => unknown): TemplateError {
  try {
    f()
  } catch (e) {
    expect(e).toBeInstanceOf(TemplateError)
    return e as TemplateError
  }
  throw new Error('expected a TemplateError')
}

describe('render', () => {
  it('names the config file in a parse error, with its line, as one config-kind line', () => {
    const err = errorOf(() => render('image: app\n\n{{ if false }}{{ foo .x }}{{ end }}\n', {name: 'dappfile.yaml'}))
    expect(err.userLine).toBe('template: dappfile.yaml:3: function "foo" not defined')
    expect([err.kind, err.exitCode, err.file, err.line, err.column]).toEqual(['config', 3, 'dappfile.yaml', 3, undefined])
  })

  it('gives file, line and column of an execution error', () => {
    const err = errorOf(() => render('a: 1\nb: {{ required "b is required" .b }}\n', {name: 'werf.yaml', data: {}}))
    expect(err.userLine).toBe('template: werf.yaml:2:6: executing "werf.yaml" at <required "b is required" .b>: error calling required: b is required')
    expect([err.file, err.line, err.column]).toEqual(['werf.yaml', 2, 6])
  })

  it('names the partial an error is in', () => {
    const err = errorOf(() => render('{{ include "x.tmpl" . }}', {name: 'werf.yaml', partials: new Map([['x.tmpl', '\n{{ .a.b }}']]), data: {a: null}}))
    expect(err.file).toBe('werf.yaml')
    expect(err.userLine).toContain('error calling include: template: x.tmpl:2:5: executing "x.tmpl" at <.a.b>: nil pointer evaluating interface {}.b')
    expect(err.userLine).not.toContain('\n')
  })

  it('reads env from the options, not the process, and the dot from data', () => {
    process.env.SLIPWAY_TEMPLATE_TEST = 'from-process'
    const out = render('{{ env "SLIPWAY_TEMPLATE_TEST" "dflt" }} {{ env "X" }} {{ .Env }}', {name: 'werf.yaml', env: {X: 'x'}, data: {Env: 'prod'}})
    expect(out).toBe('dflt x prod')
  })

  it('calls .Files.Get and .Files.Glob on the files given', () => {
    const files = {get: (p: string) => (p === 'a.txt' ? 'A' : ''), glob: () => ({'c/1.conf': 'one', 'c/2.conf': 'two'})}
    expect(render('{{ .Files.Get "a.txt" }}|{{ .Files.Get "none" }}|{{ range $p, $c := .Files.Glob "c/*" }}{{ $p }}={{ $c }};{{ end }}', {name: 'werf.yaml', files}))
      .toBe('A||c/1.conf=one;c/2.conf=two;')
  })
})
