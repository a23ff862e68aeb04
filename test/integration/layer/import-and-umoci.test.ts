import {execFileSync} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {chown, link, mkdir, readFile, rename, rm, symlink, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {Readable} from 'node:stream'

import {diffLayer} from '../../../src/layer/diff.js'
import {extractLayer} from '../../../src/layer/extract.js'
import {importLayer} from '../../../src/layer/import-layer.js'
import {writeLayer} from '../../../src/layer/root-layer.js'
import {snapshot} from '../../../src/layer/snapshot.js'
import {sha256Digest} from '../../../src/oci/digest.js'
import {listTar} from '../../helpers/tar.js'
import {collectLayer, describeTree, useRootsDir} from '../../helpers/roots.js'

const MiB = 1024 * 1024

describe('import layers and interoperability', () => {
  const work = useRootsDir()

  it('copies selected artifact files to their destination with owner, keeping links', async () => {
    const art = join(work.path, 'artifact')
    await mkdir(join(art, 'out/assets/img'), {recursive: true})
    await writeFile(join(art, 'out/index.html'), '<html>')
    await writeFile(join(art, 'out/assets/app.js'), 'js')
    await writeFile(join(art, 'out/assets/app.js.map'), 'map')
    await writeFile(join(art, 'out/assets/img/logo.png'), 'png')
    await link(join(art, 'out/assets/app.js'), join(art, 'out/assets/copy.js'))
    await symlink('/etc/passwd', join(art, 'out/escape')) // copied as a link, never followed
    await writeFile(join(art, 'tool'), 'bin')
    await chown(join(art, 'tool'), 7, 8)
    const {data} = await collectLayer(await importLayer({
      srcRoot: art,
      mtimeClamp: 1000,
      mappings: [
        {add: '/out', to: '/srv/www', excludePaths: ['**/*.map', 'assets/img'], owner: 33, group: 34},
        {add: '/tool', to: '/usr/bin/tool'},
      ],
    }))
    const entries = await listTar(data)
    expect(entries.map(e => `${e.name} ${e.type} ${e.uid}:${e.gid}${e.linkname ? ' -> ' + e.linkname : ''}`)).toEqual([
      'srv/ directory 0:0',
      'srv/www/ directory 33:34',
      'srv/www/assets/ directory 33:34',
      'srv/www/assets/app.js file 33:34',
      'srv/www/assets/copy.js link 33:34 -> srv/www/assets/app.js',
      'srv/www/escape symlink 33:34 -> /etc/passwd',
      'srv/www/index.html file 33:34',
      'usr/ directory 0:0',
      'usr/bin/ directory 0:0',
      'usr/bin/tool file 7:8',
    ])
    expect(new Set(entries.map(e => e.mtime))).toEqual(new Set([1000]))
    await expect(importLayer({srcRoot: art, mappings: [{add: '/missing', to: '/x'}]})).rejects.toMatchObject({kind: 'build'})
  })

  it('writes layers that umoci unpacks to the same tree', async () => {
    const root = join(work.path, 'root')
    await mkdir(root)
    let before = await snapshot(root)
    await mkdir(join(root, 'etc/conf.d'), {recursive: true})
    await writeFile(join(root, 'etc/a'), 'a')
    await writeFile(join(root, 'etc/conf.d/x'), 'x')
    await writeFile(join(root, 'etc/old'), 'old')
    await mkdir(join(root, 'var/cache'), {recursive: true})
    await writeFile(join(root, 'var/cache/junk'), 'junk')
    // more than one 1 MiB compression chunk, so the readers see the joined independent deflate blocks
    await mkdir(join(root, 'usr/share'), {recursive: true})
    await writeFile(join(root, 'usr/share/data.bin'), Buffer.concat([randomBytes(MiB + 4321), Buffer.from('text line\n'.repeat(200_000))]))
    const base = await collectLayer(writeLayer(root, await diffLayer(before, root), {mtimeClamp: 1000}))

    before = await snapshot(root)
    await rm(join(root, 'etc/old'))
    // the directory is replaced by a new one (made before the old one goes, so it cannot reuse its inode)
    await mkdir(join(root, 'var/cache.new'))
    await writeFile(join(root, 'var/cache.new/fresh'), 'fresh')
    await rm(join(root, 'var/cache'), {recursive: true})
    await rename(join(root, 'var/cache.new'), join(root, 'var/cache'))
    await writeFile(join(root, 'etc/a'), 'a2')
    await writeFile(join(root, 'etc/conf.d/long-' + 'n'.repeat(120)), 'long name')
    await symlink('a', join(root, 'etc/link'))
    const top = await collectLayer(writeLayer(root, await diffLayer(before, root), {mtimeClamp: 1000}))
    expect((await listTar(top.data)).map(e => e.name)).toContain('var/cache/.wh..wh..opq')

    const layout = join(work.path, 'layout')
    await mkdir(join(layout, 'blobs/sha256'), {recursive: true})
    const put = async (bytes: Buffer): Promise<string> => {
      const d = sha256Digest(bytes)
      await writeFile(join(layout, 'blobs/sha256', d.slice(7)), bytes)
      return d
    }
    for (const l of [base, top]) await put(l.data)
    const config = Buffer.from(JSON.stringify({architecture: 'amd64', os: 'linux', config: {}, rootfs: {type: 'layers', diff_ids: [base.blob.diffId, top.blob.diffId]}}))
    const manifest = Buffer.from(JSON.stringify({
      schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: {mediaType: 'application/vnd.oci.image.config.v1+json', digest: await put(config), size: config.length},
      layers: [base, top].map(l => ({mediaType: l.blob.mediaType, digest: l.blob.digest, size: l.blob.size})),
    }))
    const manifestDigest = await put(manifest)
    await writeFile(join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}')
    await writeFile(join(layout, 'index.json'), JSON.stringify({schemaVersion: 2, manifests: [{
      mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: manifestDigest, size: manifest.length,
      annotations: {'org.opencontainers.image.ref.name': 'test'},
    }]}))
    const bundle = join(work.path, 'bundle')
    execFileSync('umoci', ['unpack', '--image', `${layout}:test`, bundle], {stdio: 'pipe'})
    expect(await describeTree(join(bundle, 'rootfs'))).toEqual(await describeTree(root))

    // skopeo decompresses the layers into a docker archive (checking each against its digest on the way)
    const archive = join(work.path, 'archive.tar')
    execFileSync('skopeo', ['copy', '--quiet', `oci:${layout}:test`, `docker-archive:${archive}:test:latest`], {stdio: 'pipe'})
    const unpacked = join(work.path, 'archive')
    await mkdir(unpacked)
    execFileSync('tar', ['-xf', archive, '-C', unpacked])
    const [saved] = JSON.parse(await readFile(join(unpacked, 'manifest.json'), 'utf8')) as {Layers: string[]}[]
    const layerDigests = await Promise.all(saved!.Layers.map(async f => sha256Digest(await readFile(join(unpacked, f)))))
    expect(layerDigests).toEqual([base.blob.diffId, top.blob.diffId])

    // and our extractor agrees with umoci
    const ours = join(work.path, 'ours')
    for (const l of [base, top]) await extractLayer(Readable.from([l.data]), ours)
    expect(await describeTree(ours)).toEqual(await describeTree(root))
  })
})
