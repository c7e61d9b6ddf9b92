// tap's coverage map: which files each test file's coverage is measured on. A workspace package's
// test file (packages/<name>/test/…) is measured on that package's src/; every other test file is
// measured on all of src/ except src/generated (Prisma's generated clients: not our code, and
// regenerated on install). Test helpers (test/helpers) are never listed, so they are not
// measured either. Files are listed one by one because tap globs each entry without negation.
//
// What counts, and where it is checked:
// - Child processes (the CLI, the server) are measured too: tap passes its coverage hooks to every
//   node child, and test/helpers/ts-loader.ts starts them with this test process's TypeScript
//   loader so that their coverage maps to src lines.
// - Some code runs on one database only, so one pass alone (SQLite, or PostgreSQL with
//   DATABASE_URL) does not reach 100%: .ci/run records both passes and checks their union with
//   `tap report`. A line is excluded (`/* c8 ignore start */ … /* c8 ignore stop */`) only when no
//   meaningful test on either database can reach it, with a comment saying why.
import { readdirSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const GENERATED = join(root, 'src', 'generated')

const walk = dir =>
  readdirSync(dir, { withFileTypes: true }).flatMap(entry => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return path === GENERATED ? [] : walk(path)
    return /\.(ts|mts|cts|js|mjs)$/.test(entry.name) && !entry.name.endsWith('.d.ts') ?
        [relative(root, path).split('\\').join('/')]
      : []
  })

const SOURCES = walk(join(root, 'src')).sort()
const PACKAGE_TEST = /^packages\/([^/]+)\/test\//

export default testFile => {
  const inPackage = PACKAGE_TEST.exec(testFile)
  return inPackage ? walk(join(root, 'packages', inPackage[1], 'src')).sort() : SOURCES
}
