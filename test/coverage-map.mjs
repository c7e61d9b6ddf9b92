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
// - A test whose inputs are random (test/http/fuzz.test.ts: fast-check picks a new seed each run) is
//   measured on nothing (null: tap collects no coverage for it). What it happens to reach differs from
//   run to run, so it must not decide the gate: the deterministic tests reach everything themselves.
// - Code that runs on one database only lives in that database's folder (src/storage/sqlite/,
//   src/storage/postgresql/), and a pass measures only its own database's folder besides the shared
//   files: the SQLite pass (the default) leaves out src/storage/postgresql/, the PostgreSQL pass
//   (DATABASE_URL a postgresql:// URL, as test/helpers/database.ts reads it) leaves out
//   src/storage/sqlite/. So each pass alone must reach 100% of what it measures, and the two passes
//   together measure every file. Shared code picks a database's module by a lookup of its path
//   (src/storage/prisma.ts, migrate.ts), not by a branch that one pass could never take. A line is excluded (`/* c8 ignore start */ … /* c8 ignore stop */`)
//   only when no meaningful test on its database can reach it, with a comment saying why.
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

const OTHER_DATABASE = /^postgres(ql)?:\/\//.test(process.env.DATABASE_URL ?? '') ? 'src/storage/sqlite/' : 'src/storage/postgresql/'
const SOURCES = walk(join(root, 'src'))
  .filter(file => !file.startsWith(OTHER_DATABASE))
  .sort()
const PACKAGE_TEST = /^packages\/([^/]+)\/test\//
const RANDOM_INPUTS = new Set(['test/http/fuzz.test.ts'])

export default testFile => {
  if (RANDOM_INPUTS.has(testFile)) return null
  const inPackage = PACKAGE_TEST.exec(testFile)
  return inPackage ? walk(join(root, 'packages', inPackage[1], 'src')).sort() : SOURCES
}
