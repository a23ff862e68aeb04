// The source tree of bench/realistic.sh's project, the same bytes on every run:
//   node bench/realistic/make-tree.mjs DIR FILES
// writes FILES files under DIR (package.json at the top, the rest nested three levels deep: mostly text,
// every 500th file binary), for a git tree of FILES files once the caller adds its own. Prints the path
// of src/lib00/index.js, the file the one-file-changed case edits (under no stageDependencies).
import {mkdirSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'

const [dir, count] = [process.argv[2], Number(process.argv[3])]
if (!dir || !(count > 2)) {
  console.error('usage: make-tree.mjs DIR FILES')
  process.exit(2)
}

// xorshift32: a fixed seed, so the tree is the same everywhere
let state = 0x5eed1e55
function next() {
  state ^= state << 13
  state ^= state >>> 17
  state ^= state << 5
  return (state >>> 0) / 2 ** 32
}
const words = ['const', 'return', 'value', 'item', 'request', 'handler', 'config', 'stage', 'layer', 'await',
  'export', 'function', 'result', 'error', 'module', 'index', 'buffer', 'stream', 'digest', 'path']
function text(lines) {
  const out = []
  for (let i = 0; i < lines; i++) {
    const n = 3 + Math.floor(next() * 9)
    out.push(Array.from({length: n}, () => words[Math.floor(next() * words.length)]).join(' '))
  }
  return out.join('\n') + '\n'
}
function write(rel, data) {
  mkdirSync(dirname(join(dir, rel)), {recursive: true})
  writeFileSync(join(dir, rel), data)
}

const deps = Array.from({length: 40}, (_, i) => `    "dep-${String(i).padStart(2, '0')}": "^${1 + (i % 7)}.${i % 10}.0"`)
write('package.json', `{\n  "name": "realistic",\n  "version": "1.0.0",\n  "dependencies": {\n${deps.join(',\n')}\n  }\n}\n`)
write('src/lib00/index.js', text(40))
for (let i = 2; i < count; i++) {
  const lib = `lib${String(i % 24).padStart(2, '0')}`
  const sub = `part${String(Math.floor(i / 24) % 8)}`
  const leaf = `group${String(Math.floor(i / 192) % 4)}`
  if (i % 500 === 0) {
    const bytes = Buffer.alloc(16384 + Math.floor(next() * 49152))
    for (let b = 0; b < bytes.length; b++) bytes[b] = Math.floor(next() * 256)
    write(`assets/${lib}/blob-${i}.bin`, bytes)
  } else {
    write(`src/${lib}/${sub}/${leaf}/file-${i}.js`, text(5 + Math.floor(next() * 60)))
  }
}
console.log('src/lib00/index.js')
