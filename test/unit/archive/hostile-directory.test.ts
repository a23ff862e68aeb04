import {mkdir, readdir, writeFile} from 'node:fs/promises'

import {exportDirectory, importDirectory} from '../../../src/archive/index.js'
import {SlipwayError} from '../../../src/errors.js'
import {tarOf} from '../../helpers/tar.js'
import {useTempDir} from '../../helpers/tmp.js'

/** The directory archive's refusals, from crafted tars (no tool): one exact line each, and the target untouched. */
const tmp = useTempDir('hostile-directory', {each: true})

const HINT = 'the archive was damaged or cut short on the way; export it again and copy it whole. The directory was left as it was'
const CORRUPT = 'evil.tar is truncated or corrupt: '

describe('importDirectory', () => {
  it.each([
    ['a ".." name', [{header: {name: 'a/../../x'}, content: 'x'}], 'evil.tar entry "a/../../x" climbs out with ".."'],
    ['an absolute name', [{header: {name: '/tmp/x'}, content: 'x'}], 'evil.tar entry "/tmp/x" has an absolute path'],
    ['a symlink to an absolute path', [{header: {name: 'l', type: 'symlink' as const, linkname: '/etc'}}], 'symlink "l" points outside the directory (to "/etc")'],
    ['a symlink that climbs out', [{header: {name: 'a/l', type: 'symlink' as const, linkname: '../../x'}}], 'symlink "a/l" points outside the directory (to "../../x")'],
    ['a write through a symlink', [{header: {name: 'l', type: 'symlink' as const, linkname: '.'}}, {header: {name: 'l/x'}, content: 'x'}], 'entry "l/x" would be written through the symlink "l"'],
    ['a hard link to outside', [{header: {name: 'h', type: 'link' as const, linkname: '../../etc/passwd'}}], 'evil.tar entry "../../etc/passwd" climbs out with ".."'],
    ['a directory replaced by a symlink after it (its deferred mode would follow the link)', [{header: {name: 'd', type: 'directory' as const, mode: 0o7777}}, {header: {name: 'd', type: 'symlink' as const, linkname: '.'}}], 'entry "d" appears twice, or under a file'],
    ['a device', [{header: {name: 'null', type: 'character-device' as const, devmajor: 1, devminor: 3}}], 'entry "null" is a character-device; a build directory archive holds files, directories and links'],
  ])('refuses %s and leaves the directory as it was', async (_what, entries, message) => {
    await mkdir(`${tmp.path}/target`)
    await writeFile(`${tmp.path}/target/keep`, 'mine')
    await writeFile(`${tmp.path}/evil.tar`, await tarOf(entries))
    const err = await importDirectory(`${tmp.path}/evil.tar`, `${tmp.path}/target`).catch(e => e)
    expect(err).toBeInstanceOf(SlipwayError)
    expect({kind: err.kind, message: err.message, hint: err.hint}).toEqual({kind: 'integrity', message: CORRUPT + message, hint: HINT})
    expect(await readdir(`${tmp.path}/target`)).toEqual(['keep'])
    expect((await readdir(tmp.path)).sort()).toEqual(['evil.tar', 'target'])
  })
})

describe('exportDirectory', () => {
  it('says when there is no directory to export', async () => {
    const err = await exportDirectory(`${tmp.path}/nothing`, `${tmp.path}/build.tar`).catch(e => e)
    expect(err).toBeInstanceOf(SlipwayError)
    expect({kind: err.kind, message: err.message, hint: err.hint}).toEqual({kind: 'not-found', message: `${tmp.path}/nothing is not a directory`, hint: 'build the project first, or leave the build directory out'})
    expect(await readdir(tmp.path)).toEqual([])
  })

  it('says when the archive cannot be written, and leaves nothing behind', async () => {
    await mkdir(`${tmp.path}/build`)
    await writeFile(`${tmp.path}/build/f`, 'x')
    const err = await exportDirectory(`${tmp.path}/build`, `${tmp.path}/no/such/dir/build.tar`).catch(e => e)
    expect(err).toBeInstanceOf(SlipwayError)
    expect(err.kind).toBe('environment')
    expect(err.message).toMatch(new RegExp(`^cannot archive ${tmp.path}/build: ENOENT: no such file or directory, open '${tmp.path}/no/such/dir/\\.build\\.tar\\.tmp-[0-9]+-[0-9a-f]+'$`))
    expect(err.hint).toBe('check that the output directory exists and has free space')
    expect(await readdir(tmp.path)).toEqual(['build'])
  })
})

describe('importDirectory of what is not there', () => {
  it('says the archive does not exist and makes no directory', async () => {
    const err = await importDirectory(`${tmp.path}/missing.tar`, `${tmp.path}/target`).catch(e => e)
    expect(err).toBeInstanceOf(SlipwayError)
    expect({kind: err.kind, message: err.message, hint: err.hint}).toEqual({kind: 'not-found', message: `${tmp.path}/missing.tar does not exist`, hint: 'give the path of missing.tar'})
    expect(await readdir(tmp.path)).toEqual([])
  })
})
