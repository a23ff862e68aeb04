import {mkdir, symlink, writeFile} from 'node:fs/promises'
import {dirname, join} from 'node:path'

import {ConfigError} from '../../../src/config/errors.js'
import {loadDappfile} from '../../../src/config/load.js'
import {requireMetaDocument} from '../../../src/config/meta.js'
import {suggestedProjectName} from '../../../src/config/project-name.js'
import {TemplateError} from '../../../src/config/template/index.js'
import {SlipwayError} from '../../../src/errors.js'
import {makeTempDir} from '../../helpers/tmp.js'

/** loadDappfile on a directory holding `files`: templates rendered before the YAML, as dapp and werf do. */
async function project(files: Record<string, string>): Promise<string> {
  const dir = await makeTempDir('config-load')
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), {recursive: true})
    await writeFile(join(dir, path), content)
  }
  return dir
}

async function errorOf(p: Promise<unknown>): Promise<SlipwayError> {
  try {
    await p
  } catch (e) {
    expect(e).toBeInstanceOf(SlipwayError)
    return e as SlipwayError
  }
  throw new Error('expected an error')
}

const META = 'configVersion: 1\nproject: shop\n---\n'

describe('loadDappfile: templates', () => {
  it('renders dapp partials from .dappfiles/**/*.tmpl by their relative names', async () => {
    const dir = await project({
      'dappfile.yaml': 'dimg: app\nfrom: alpine:3.19\nshell:\n  install:\n{{ include "shell/install.tmpl" . | indent 4 }}\n',
      '.dappfiles/shell/install.tmpl': '- apk add --no-cache curl\n- echo {{ "done" | upper }}',
    })
    const config = await loadDappfile(dir)
    expect(config.flavour).toBe('dapp')
    expect(config.dimgs[0].shell.commands.install).toEqual(['apk add --no-cache curl', 'echo DONE'])
  })

  it('renders werf partials from .werf/ and defines with define/template', async () => {
    const dir = await project({
      'werf.yaml': `${META}{{ range $i, $name := list "api" "worker" }}---\nimage: {{ $name }}\n{{ template "base" $i }}\n{{ end }}`,
      '.werf/base.tmpl': '{{ define "base" }}from: alpine:3.19\ndocker:\n  ENV: {INDEX: "{{ . }}"}{{ end }}',
    })
    const config = await loadDappfile(dir)
    expect(config.flavour).toBe('werf')
    expect(config.project).toBe('shop')
    expect(config.dimgs.map((d) => [d.name, d.docker.ENV])).toEqual([
      ['api', {INDEX: '0'}],
      ['worker', {INDEX: '1'}],
    ])
  })

  it('gives env with its default, .Env, tpl and required the process environment', async () => {
    const dir = await project({
      'werf.yaml': `${META}image: ~\nfrom: {{ env "BASE" "alpine:3.19" }}\ndocker:\n  ENV:\n    MODE: {{ .Env.MODE }}\n    TAG: {{ tpl "{{ .t }}" (dict "t" (required "TAG is required" (env "TAG"))) }}\n`,
    })
    const config = await loadDappfile(dir, {MODE: 'prod', TAG: 'v1'})
    expect(config.dimgs[0].from).toBe('alpine:3.19')
    expect(config.dimgs[0].docker.ENV).toEqual({MODE: 'prod', TAG: 'v1'})
    const err = await errorOf(loadDappfile(dir, {MODE: 'prod'}))
    expect(err).toBeInstanceOf(TemplateError)
    expect(err.userLine).toMatch(/^template: .*werf\.yaml:9:\d+: executing .*error calling required: TAG is required$/)
  })

  it('reads .Files.Get and .Files.Glob relative to the project', async () => {
    const dir = await project({
      'dappfile.yaml': 'from: alpine:3.19\ndocker:\n  LABEL:\n    version: {{ .Files.Get "VERSION" | trim | quote }}\n{{- range $path, $_ := .Files.Glob "conf/*.conf" }}\n    {{ base $path }}: "yes"\n{{- end }}\n',
      VERSION: '1.2.3\n',
      'conf/a.conf': 'a',
      'conf/b.conf': 'b',
      'conf/c.txt': 'c',
    })
    expect((await loadDappfile(dir)).dimgs[0].docker.LABEL).toEqual({version: '1.2.3', 'a.conf': 'yes', 'b.conf': 'yes'})
  })

  it.each([
    ['{{ .Files.Get "../../etc/passwd" }}', '.Files.Get "../../etc/passwd": the path leaves the project directory'],
    ['{{ .Files.Get "/etc/passwd" }}', '.Files.Get "/etc/passwd": paths are relative to the project directory'],
    ['{{ .Files.Get "passwd-link" }}', '.Files.Get "passwd-link": the file is a symlink to /etc/passwd, outside the project directory'],
    ['{{ .Files.Glob "../*" }}', '.Files.Glob "../*": the path leaves the project directory'],
  ])('refuses to read outside the project: %s', async (action, message) => {
    const dir = await project({'dappfile.yaml': `from: alpine:3.19\n# ${action}\n`})
    await symlink('/etc/passwd', join(dir, 'passwd-link'))
    const err = await errorOf(loadDappfile(dir))
    expect(err).toBeInstanceOf(TemplateError)
    expect(err.userLine).toContain(`dappfile.yaml:2:`)
    expect(err.userLine).toContain(message)
    expect(err.userLine).not.toContain('root:')
  })

  it('skips symlinks out of the project in .Files.Glob', async () => {
    const dir = await project({'dappfile.yaml': 'from: alpine:3.19\ndocker:\n  LABEL: {files: "{{ range $p, $_ := .Files.Glob "**" }}{{ $p }} {{ end }}"}\n', 'in.txt': 'x'})
    await symlink('/etc/passwd', join(dir, 'out-link'))
    await symlink('in.txt', join(dir, 'in-link'))
    expect((await loadDappfile(dir)).dimgs[0].docker.LABEL).toEqual({files: 'dappfile.yaml in-link in.txt '})
  })

  it('refuses a partial that is a symlink out of the project', async () => {
    const dir = await project({'werf.yaml': `${META}image: ~\nfrom: alpine\n`})
    await mkdir(join(dir, '.werf'))
    await symlink('/etc/passwd', join(dir, '.werf', 'x.tmpl'))
    expect((await errorOf(loadDappfile(dir))).userLine).toMatch(/werf\.yaml:1:1: \.werf\/x\.tmpl is a symlink to \/etc\/passwd, outside the project directory$/)
  })

  it('names an unknown function with file and line', async () => {
    const dir = await project({'dappfile.yaml': 'from: alpine\n\nshell:\n  install: [{{ nosuch "x" }}]\n'})
    expect((await errorOf(loadDappfile(dir))).userLine).toMatch(/^template: .*dappfile\.yaml:4: function "nosuch" not defined$/)
  })

  it('reports YAML problems after rendering against the rendered text, and says so', async () => {
    const dir = await project({'dappfile.yaml': '{{ range list 1 2 3 }}\n# padding\n{{ end }}from: alpine\nshel:\n  install: x\n'})
    const err = await errorOf(loadDappfile(dir))
    expect(err).toBeInstanceOf(ConfigError)
    expect(err.userLine).toMatch(/dappfile\.yaml \(rendered\):8:1: dimg › shel: unknown key — did you mean "shell"\?$/)
  })

  it('labels the file plainly when there is nothing to render', async () => {
    const dir = await project({'dappfile.yaml': 'from: alpine\nshel: {}\n'})
    expect((await errorOf(loadDappfile(dir))).userLine).toMatch(/dappfile\.yaml:2:1: dimg › shel:/)
  })
})

describe('the meta document', () => {
  it('is accepted with the sections werf 1.1/1.2 have, which are ignored', async () => {
    const meta = `configVersion: 1
project: shop
deploy:
  helmRelease: "[[ project ]]-[[ env ]]"
  namespace: "[[ env ]]"
cleanup:
  keepPolicies:
    - references: {branch: /.*/, limit: {last: 10}}
build:
  platform: [linux/amd64]
gitWorktree:
  forceShallowClone: true
---
image: ~
from: alpine
`
    const dir = await project({'werf.yaml': meta})
    const config = await loadDappfile(dir)
    expect(config.project).toBe('shop')
    expect(config.dimgs.map((d) => d.name)).toEqual([null])
  })

  it('is required in a werf.yaml, with a sample in the hint', () => {
    const config = {file: '/p/werf.yaml', flavour: 'werf' as const, dimgs: []}
    let err: SlipwayError | undefined
    try {
      requireMetaDocument(config, 'werf.yaml', suggestedProjectName('My_Shop.git'))
    } catch (e) {
      err = e as SlipwayError
    }
    expect(err?.userLine).toBe(
      'werf.yaml:1:1: the meta document is missing: a werf.yaml starts with "configVersion: 1" and "project: NAME": add at the top:  configVersion: 1 ⏎ project: my-shop-git ⏎ ---  (the project name names the stages cache; changing it later rebuilds everything)',
    )
    expect(() => requireMetaDocument({...config, project: 'shop'}, 'werf.yaml', 'x')).not.toThrow()
    expect(() => requireMetaDocument({...config, flavour: 'dapp'}, 'dappfile.yaml', 'x')).not.toThrow()
  })

  it('names the project in a dappfile too', async () => {
    const dir = await project({'dappfile.yaml': 'project: legacy\n---\ndimg: app\nfrom: alpine\n'})
    expect((await loadDappfile(dir)).project).toBe('legacy')
  })
})
