/**
 * Usher's layers, enforced by `npm run lint:deps` (part of script/test). Dependencies run one way:
 *   src/main → activities → features (invitations, bulk, management, compat) → http, temporal, email → db → lib
 * Workflows import only the Temporal SDK and their own modules (type-only imports of activities' signatures aside).
 */
const FEATURES = '^src/(invitations|bulk|management|compat|webhooks)/';
const BELOW_FEATURES = '^src/(http|temporal|email|db|lib)/';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-runtime-cycles',
      severity: 'error',
      comment: 'A cycle of run-time imports: split the module that both sides need.',
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    {
      name: 'main-is-the-top',
      severity: 'error',
      comment: 'Only the composition root (src/main) wires things together; nothing imports it.',
      from: { path: '^(src/(?!main/)|activities/|workflows/|migrations/)' },
      to: { path: '^src/main/' },
    },
    {
      name: 'activities-below-main',
      severity: 'error',
      comment: 'Activities are run by the worker that src/main builds; features and lower layers never import them.',
      from: { path: `${FEATURES}|${BELOW_FEATURES}` },
      to: { path: '^activities/' },
    },
    {
      name: 'lower-layers-do-not-know-features',
      severity: 'error',
      from: { path: BELOW_FEATURES },
      to: { path: FEATURES },
    },
    {
      name: 'invitations-is-the-core-feature',
      severity: 'error',
      comment: 'bulk, management, compat and webhooks build on invitations; invitations does not know them.',
      from: { path: '^src/invitations/' },
      to: { path: '^src/(bulk|management|compat|webhooks)/' },
    },
    {
      name: 'features-side-by-side',
      severity: 'error',
      comment: 'Seed adapters, bulk, management and webhooks do not import one another.',
      from: { path: '^src/(bulk|management|compat|webhooks)/' },
      to: { path: '^src/(bulk|management|compat|webhooks)/', pathNot: '^src/$1/' },
    },
    {
      name: 'seed-adapters-apart',
      severity: 'error',
      comment: 'One seed adapter never imports another; what they share lives in src/compat/*.ts.',
      from: { path: '^src/compat/([^/]+)/' },
      to: { path: '^src/compat/[^/]+/', pathNot: '^src/compat/$1/' },
    },
    {
      name: 'http-temporal-email-side-by-side',
      severity: 'error',
      from: { path: '^src/(http|temporal|email)/' },
      to: { path: '^src/(http|temporal|email)/', pathNot: '^src/$1/' },
    },
    {
      name: 'db-below-http-temporal-email',
      severity: 'error',
      from: { path: '^src/db/' },
      to: { path: '^src/(http|temporal|email)/' },
    },
    {
      name: 'lib-is-the-bottom',
      severity: 'error',
      from: { path: '^src/lib/' },
      to: { path: '^(src/(?!lib/)|activities/|workflows/|migrations/)' },
    },
    {
      name: 'queries-only-in-db',
      severity: 'error',
      comment: 'Kysely is the database layer\'s: every query lives in src/db (migrations aside).',
      from: { path: '^(src/(?!db/)|activities/|workflows/)' },
      to: { path: '^node_modules/kysely/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'workflows-import-only-the-sdk',
      severity: 'error',
      comment: 'Workflow code runs in the deterministic sandbox: the SDK and its own modules only.',
      // The one exception: workflows/interceptors.ts is not a workflow but the interceptors module bundled with them
      // (workflowInterceptorModules), and imports the OpenTelemetry workflow interceptors, which the Temporal SDK
      // writes for the sandbox (its bundler swaps in their sandbox-safe imports). Only their workflow entry point.
      from: { path: '^workflows/', pathNot: '^workflows/interceptors\\.ts$' },
      to: {
        pathNot: ['^workflows/', '^node_modules/@temporalio/(workflow|common)/'],
        dependencyTypesNot: ['type-only'],
      },
    },
    {
      name: 'workflow-interceptors-import-only-the-sdk',
      severity: 'error',
      comment: 'The workflow interceptors module: the SDK, its own modules, and the OpenTelemetry workflow interceptors.',
      from: { path: '^workflows/interceptors\\.ts$' },
      to: {
        pathNot: [
          '^workflows/',
          '^node_modules/@temporalio/(workflow|common)/',
          '^node_modules/@temporalio/interceptors-opentelemetry/lib/workflow/',
        ],
        dependencyTypesNot: ['type-only'],
      },
    },
    {
      name: 'api-process-loads-no-workflow-code',
      severity: 'error',
      comment: 'Outside the worker, only the workflows\' message, search-attribute, schedule and request-id header modules may be loaded.',
      from: { path: '^src/(?!main/worker)' },
      to: { path: '^workflows/(?!messages|search-attributes|schedule|request-id)', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'dev-only-stays-dev',
      severity: 'error',
      comment: 'The dev stack (embedded PostgreSQL, mail catcher, dev server) is loaded by `usher dev` and tests only.',
      from: { path: '^src/', pathNot: '^src/main/(dev/|cli\\.ts)' },
      to: { path: '^src/main/dev/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(test|bench|\\.tools)/' },
    tsPreCompilationDeps: true,
    parser: 'swc',
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.json'] },
  },
};
