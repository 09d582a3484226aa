// The layers of lib/, bottom first (docs/architecture.md explains each). A file may import files of
// its own layer and of the layers below it, never above; no import cycles anywhere; the typed client
// (lib/client) imports nothing of the server. `npm test` runs this check (`npm run check:layers`).
const LAYERS = [
  ['contracts', ['^lib/(port|names|crypto|util|interfaces)/', '^lib/constants[.]ts$']],
  ['config', ['^lib/config/']],
  ['mechanisms', ['^lib/(recovery|webhooks|decorators|discovery|metrics)/']],
  ['drivers', ['^lib/drivers/']],
  ['core', ['^lib/core/']],
  ['services', ['^lib/(protocols|hooks|publish)/', '^lib/(broadcast[.]service|connection-manager)[.]ts$']],
  ['edges', ['^lib/(gateway|sse|http|auth|health|events)/']],
  ['module', ['^lib/(broadcast[.]module|broadcast[.]module-definition|setup|index)[.]ts$']],
];

const any = (patterns) => `(${patterns.join('|')})`;

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Import cycles make layers meaningless and initialisation order fragile.',
      from: { path: '^lib/' },
      to: { circular: true },
    },
    {
      name: 'client-stands-alone',
      severity: 'error',
      comment: 'nestjs-broadcasting/client runs in browsers: it imports nothing of the server.',
      from: { path: '^lib/client/' },
      to: { path: '^lib/', pathNot: '^lib/client/' },
    },
    {
      name: 'every-file-in-a-layer',
      severity: 'error',
      comment: 'A new folder of lib/ needs a place in LAYERS (and in docs/architecture.md).',
      from: { path: '^lib/', pathNot: `${any(LAYERS.flatMap(([, p]) => p))}|^lib/client/` },
      to: {},
    },
    ...LAYERS.slice(0, -1).map(([name, patterns], i) => ({
      name: `no-import-up-from-${name}`,
      severity: 'error',
      comment: `${name} may only import ${LAYERS.slice(0, i + 1)
        .map(([n]) => n)
        .join(', ')}.`,
      from: { path: any(patterns) },
      to: { path: any(LAYERS.slice(i + 1).flatMap(([, p]) => p)) },
    })),
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    includeOnly: '^lib/',
    tsPreCompilationDeps: true,
    parser: 'swc',
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
