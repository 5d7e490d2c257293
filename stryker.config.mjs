// StrykerJS over one folder of src/ at a time (npm run mutate; see docs/testing.md).
// How it mutates: Stryker instruments the TypeScript sources once with every mutant behind a switch
// (mutation switching), `tsc` compiles that instrumented copy into the sandbox's dist/ once, and the
// tap runner runs the compiled test files with one mutant switched on per run (an env var). So there
// is one build per run, not one per mutant, and mutants are reported on the .ts lines they change.
// The TypeScript checker drops mutants that would not compile before any test runs them.
import path from 'node:path';

// Each folder with the compiled test files that exercise it. Coverage is per test file: a mutant runs
// only the files that executed its code in the first (dry) run. The e2e tests spawn processes and are
// left out (too slow per mutant, and their code paths are covered by the in-process tests).
const proxyTests = ['dist/test/proxy/*.test.js', 'dist/test/translate/simulation.test.js'];
const cpTests = ['dist/test/xds/*.test.js', 'dist/test/translate/*.test.js', 'dist/test/model/*.test.js', 'dist/test/cli/proxy-status.test.js'];
export const folders = {
  'proxy/http': proxyTests,
  'proxy/upstream': proxyTests,
  'proxy/http1': ['dist/test/proxy/http1-*.test.js', 'dist/test/proxy/streaming.test.js', 'dist/test/proxy/proxy.test.js', 'dist/test/proxy/resilience.test.js', 'dist/test/proxy/filters.test.js'],
  'proxy/xds': proxyTests,
  'controlplane/xds': cpTests,
  'controlplane/translate': cpTests,
};

// WEFT_MUTATE=folder, or folder:glob to narrow a long run to some files (proxy/http:forward.ts).
const [folder, only] = (process.env.WEFT_MUTATE ?? '').split(':');
if (!(folder in folders)) throw new Error(`WEFT_MUTATE must name one of: ${Object.keys(folders).join(', ')} (optionally :glob), got "${process.env.WEFT_MUTATE ?? ''}"`);
const slug = `${folder}${only ? `-${only}` : ''}`.replace(/[^A-Za-z0-9.]+/g, '-');

export default {
  packageManager: 'npm',
  testRunner: 'tap',
  checkers: ['typescript'],
  tsconfigFile: 'tsconfig.json',
  // One compile of the instrumented sources per run (the sandbox's own dist/).
  buildCommand: 'npx tsc -p tsconfig.json',
  mutate: [`src/${folder}/${only ?? '**/*.ts'}`],
  // forceBail: a file stops at its first failing test (a killed mutant need not finish a slow file).
  tap: { testFiles: folders[folder], nodeArgs: ['--test-reporter=tap', '{{testFile}}'], forceBail: true },
  coverageAnalysis: 'perTest',
  // Mutants in module-level code would have to run every test file; they are few and listed as ignored.
  ignoreStatic: true,
  incremental: true,
  incrementalFile: `reports/stryker-incremental-${slug}.json`,
  reporters: ['clear-text', 'progress-append-only', 'json', 'html'],
  jsonReporter: { fileName: `reports/mutation/${slug}.json` },
  htmlReporter: { fileName: `reports/mutation/${slug}.html` },
  clearTextReporter: { allowColor: false, logTests: false, reportMutants: false },
  // Two cores shared with everything else on this machine.
  concurrency: 2,
  timeoutMS: 5000,
  timeoutFactor: 2,
  tempDirName: '.stryker-tmp',
  cleanTempDir: true,
  // Tests find ../shared/fixtures from the repository root; the sandbox is two levels deeper.
  // (WEFT_FIXTURES_DIR is set by scripts/mutate.sh.)
  ignorePatterns: ['dist', 'reports', 'bench', '.stryker-tmp', path.join('node_modules', '.cache')],
};
