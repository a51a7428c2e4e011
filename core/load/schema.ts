// The spec's shape, in zod. Two modes from one definition: `full` checks a merged spec
// (required fields required); `layer` is what one file may hold on its own, and is what
// `manager schema` exports for editors, since a single file rarely has everything.
import { z } from 'zod';
import { isSafeApiUrl, isSafeGitUrl } from '../base/url.ts';
import { ENV_NAME, INPUT_ID } from './build-inputs.ts';

type Mode = 'full' | 'layer';

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const name = (what: string) =>
  z
    .string({ error: (iss) => (iss.input === undefined ? undefined : `expected ${what} (a string)`) })
    .regex(NAME_RE, `expected ${what}: letters, digits, '.', '_' or '-', not starting with a symbol, at most 128 characters`)
    .refine((s) => !s.includes('..'), { message: `expected ${what} without '..'` });

/** YAML reads 3.10 as the number 3.1; refuse numbers so that never happens silently. */
const versionString = (what: string) =>
  z
    .string({
      error: (iss) =>
        typeof iss.input === 'number'
          ? `expected ${what} as a quoted string ("${iss.input}"): YAML reads unquoted numbers like 3.10 as 3.1`
          : undefined,
    })
    .regex(NAME_RE, `expected ${what}: letters, digits, '.', '_' or '-'`);

/** Axis names are placeholders (`{pg_major}`) and template keys (`it.values.pg_major`): identifiers. */
const axisName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'expected an axis name: letters, digits and _, not starting with a digit');
const PLATFORM_RE = /^[a-z0-9]+\/[a-z0-9_]+(\/[a-z0-9]+)?$/;
const vars = z.record(z.string(), z.unknown()).describe('Free-form values passed to templates.');
/** A build arg whose value follows a git ref (a branch): `manager lock` pins it to a commit. */
const gitRef = z.strictObject({
  git: z.string().min(1).refine(isSafeGitUrl, 'expected a git URL: https://, ssh://, git://, file://, user@host:path or an absolute path')
    .describe('Git repository URL, as `git ls-remote` takes it.'),
  ref: z.string().min(1).describe('Branch or tag; `{version}` and other tag variables expand.'),
}).describe('A floating input: the build arg gets the commit the ref points at, as locked.');
const stringMap = z.record(
  z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected a build-arg name'),
  z.union([z.string(), z.number(), z.boolean(), gitRef]).transform((v) => (typeof v === 'object' ? v : String(v))),
);

/** Required in a full spec, optional in a layer. */
type Req = <T extends z.ZodType>(t: T) => T;

const selection = (what: string) => z.union([
  z.array(versionString(what)),
  z.strictObject({
    include: z.array(versionString(what)).optional(),
    exclude: z.array(versionString(what)).optional(),
    values: z.record(versionString(what), z.strictObject({
      vars: vars.optional(),
      architectures: z.record(name('an architecture'), z.union([vars, z.null()])).optional()
        .describe('Data of this value per architecture here, over the axis value\'s own per-architecture data (it.architectures[i].axes). Adds data only: which architectures an image exists on is said by the value\'s own `architectures` and by `exclude`. Each entry may be kept in a data file: `amd64: {include: data/ubuntu2204/12.4.1/amd64.yaml}`.'),
    })).optional()
      .describe('Data for some values here, over the axis\'s own: value → {vars, architectures}.'),
  }),
]).describe('A list replaces the inherited values; {include, exclude} adjusts them; values adds data per value.');
const pythonSelection = selection('a Python version');
const axisSelections = z.record(axisName, selection('an axis value'))
  .describe('Restrict axes here: axis → a list of values, or {include, exclude}. Children inherit the restriction.');

const fileSpec = z.strictObject({
  path: z.string().min(1).describe('Where the file goes, relative to its directory (the image\'s generated directory, or `directory`): a name or a relative path such as `entrypoint.d/10-banner.sh` (subdirectories are created); `{arch}` expands per architecture, one file each.'),
  template: z.string().min(1).optional().describe('Eta template rendering the file, relative to the distro template directory (.eta is added). One of template and source.'),
  source: z.string().min(1).optional().describe('File copied byte for byte (no templating), relative to the distro template directory. One of template and source.'),
  mode: z.string().regex(/^0?[0-7]{3}$/, 'expected an octal file mode such as "0755" (quoted)').optional()
    .describe('File mode, octal and quoted: "0755" for an executable (default "0644"). Written to disk, carried into the build context, and part of the hash.'),
  directory: z.string().min(1).optional()
    .describe('A directory shared by several images instead of the image\'s own: a pattern like `directory` (`{cuda}`, `{distro}`), resolved per image, which must contain the image\'s directory. The file is written once per directory it resolves to; the images under it must render the same bytes and mode.'),
});

const tagSpec = z.union([
  z.string().min(1),
  z.strictObject({
    template: z.string().min(1),
    when: z.record(z.string(), z.union([z.string(), z.array(z.string())])).optional()
      .describe('Only emit the tag when each named axis or variable has one of the given values (`default`: the axis default, the first distro, the first distro of an alias).'),
    shared: z.boolean().optional()
      .describe('A tag several images carry together (their platforms must not overlap): one index of all of them, SharedTags in the library export.'),
  }),
]);

const imageTest = z.strictObject({
  name: name('a test name'),
  run: z.union([z.string().min(1), z.array(z.string()).min(1)]).describe('Command run in the image; a string runs through /bin/sh -c.'),
  expect: z
    .strictObject({
      exit_code: z.number().int().min(0).max(255).optional(),
      output: z.string().optional().describe('Regular expression the combined output must match; `{python}` and other tag variables expand.'),
    })
    .optional(),
  timeout: z.number().positive().optional(),
  entrypoint: z.enum(['command', 'image']).optional()
    .describe('command (default): `run` replaces the image\'s entrypoint; image: `run` goes to the image\'s own entrypoint (tini as PID 1, say).'),
});

/** Secret and SSH ids: what `RUN --mount=type=secret,id=…` names. */
const secretId = z.string().regex(INPUT_ID, 'expected an id: letters, digits, _ . -');
const buildSecret = z.strictObject({
  id: secretId.describe('What the Dockerfile mounts it as (RUN --mount=type=secret,id=ID); hashed.'),
  env: z.string().regex(ENV_NAME, 'expected an environment variable name').optional().describe('The environment variable holding the secret (buildx env=).'),
  src: z.string().min(1).optional().describe('The file holding the secret (buildx src=), relative to the manifest\'s directory.'),
}).refine((s) => (s.env === undefined) !== (s.src === undefined), 'a secret comes from exactly one of env or src');

function releaseSchema(req: Req) {
  return z.strictObject({
    description: z.string().optional(),
    parent: z.union([name('a release name'), z.null()]).optional().describe('The release this one builds FROM; omit or null for a root.'),
    dockerfile: z.string().min(1).optional().describe('Template name for the Dockerfile (default `<release>.Dockerfile`).'),
    path: z.string().min(1).optional()
      .describe('The release\'s part of its images\' directories, `{release.path}` in `directory` (default: the release name): a relative path such as `runtime/cudnn`, which may lie inside another release\'s directory (that build context then leaves it out); `{distro}`, `{alias}`, `{family}`, `{package}` and per-value axes expand.'),
    files: z.array(fileSpec).optional(),
    tags: req(z.array(tagSpec).min(1)),
    axes: z.array(axisName).optional().describe('Axes this release (and its children) expand over, beyond those it inherits.'),
    build_args: stringMap.optional(),
    tests: z.array(imageTest).optional(),
    vars: vars.optional(),
    timeout: z.number().positive().optional(),
    secrets: z.array(buildSecret).optional()
      .describe('Build secrets the Dockerfile mounts (RUN --mount=type=secret,id=ID): each from an environment variable (env) or a file (src), passed as buildx --secret; ids are hashed, values never.'),
    ssh: z.array(z.union([secretId, z.strictObject({ id: secretId.describe('What the Dockerfile mounts (RUN --mount=type=ssh,id=ID); hashed.'), paths: z.array(z.string().min(1)).min(1).describe('Keys or an agent socket to forward (buildx --ssh ID=PATH,…).') })])).optional()
      .describe('SSH mounts (RUN --mount=type=ssh): `default` (the agent in SSH_AUTH_SOCK) or {id, paths}; passed as buildx --ssh.'),
    allow: z.array(z.enum(['network.host', 'security.insecure'])).optional()
      .describe('Entitlements the build needs (buildx --allow); a run refuses them unless given --allow too.'),
  });
}

const distroRelease = z.strictObject({
  architectures: z.array(name('an architecture')).optional(),
  python: pythonSelection.optional(),
  files: z.array(fileSpec).optional(),
  build_args: stringMap.optional(),
  vars: vars.optional(),
  axes: axisSelections.optional(),
});

function distroSchema(req: Req) {
  return z.strictObject({
    description: z.string().optional(),
    alias: name('a tag alias').optional(),
    family: req(name('a distro family')),
    package_manager: req(z.enum(['apt', 'dnf', 'microdnf', 'tdnf', 'yum', 'apk', 'zypper'])),
    image: req(z.string().min(1).describe('Base image for root releases; `{python}` and other axes with a build arg expand (to ${PYTHON_VERSION} … in the Dockerfile).')),
    templates: name('a template directory').optional(),
    data: z.string().min(1).optional()
      .describe('A data template (relative to the distro template directory; .eta is added): rendered once per generated Dockerfile with what its templates see, its output a JSON object that every template of that Dockerfile then sees as it.computed. Hashed like any template.'),
    architectures: req(z.array(name('an architecture')).min(1)),
    python: pythonSelection.optional(),
    axes: axisSelections.optional(),
    releases: req(
      z.union([
        z.array(name('a release name')),
        z.record(z.string(), z.union([distroRelease, z.null()])),
      ]),
    ),
    build_args: stringMap.optional(),
    vars: vars.optional(),
  });
}

const axisValue = z.union([
  z.null(),
  z.strictObject({
    vars: vars.optional(),
    architectures: z.record(z.string(), z.union([vars, z.null()])).optional()
      .describe('When given, the value exists only on these architectures, each with its own vars, written here or kept in a data file: `amd64: {include: cuda/11.6.2/amd64.yaml}` (relative to this spec file, inside the spec root).'),
  }),
]);

function axisSchema(req: Req) {
  return z.strictObject({
    description: z.string().optional(),
    default: z.string().optional().describe('The value `when: { axis: default }` means (default: the first value).'),
    arg: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected a build-arg name').optional()
      .describe('Build arg that carries the value into the Dockerfile (none by default).'),
    id: z.string().regex(/^[a-z0-9]*$/, 'expected lowercase letters and digits').optional()
      .describe('Prefix of the value in task ids and image keys (default: the axis name).'),
    render: z.enum(['shared', 'per-value', 'per-file']).optional()
      .describe('per-value: templates see the value, and each value gets its own generated directory and Dockerfile; per-file: templates see the value, and each value gets its own Dockerfile in the shared directory (`Dockerfile` for the default, `Dockerfile-<value>` for the others); shared (default): one Dockerfile for every value, which arrives as a build arg.'),
    values: req(
      z.union([
        z.array(versionString('an axis value')).min(1),
        z.record(z.string().regex(NAME_RE, 'expected an axis value: letters, digits, . _ -'), axisValue),
      ]),
    ).describe('The values, in order: a list, or a map from value to its data.'),
  });
}

/**
 * Combinations that do not exist upstream, as a GitHub Actions or bake matrix excludes them: each
 * rule names some of distro, release, arch and axes, and every image (or, with `arch`, every
 * platform of an image) matching all it names is not planned.
 */
const excludeRule = z.record(z.string(), z.union([versionString('a name or value'), z.array(versionString('a name or value')).min(1)]))
  .describe('One rule: `distro`, `release`, `arch` and axis names, each a value or a list of values (any of them matches); an image matching every key is not planned, or, with `arch`, not built for those architectures.');

function registrySchema(req: Req) {
  return z.strictObject({
    kind: req(z.enum(['dockerhub', 'quay', 'harbor', 'ghcr', 'gcr', 'ecr', 'generic'])),
    host: z.string().regex(/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:\d{1,5})?$/, 'expected a registry host[:port] (letters, digits, dots and dashes, not starting with one)').optional(),
    namespace: req(z.string().regex(/^[a-z0-9]+([._/-][a-z0-9]+)*$/, 'expected a lowercase namespace')),
    repository: z.string().regex(/^[a-z0-9]+([._-][a-z0-9]+)*$/, 'expected a lowercase repository name').optional(),
    staging: z.union([z.literal('same'), z.string().regex(/^[a-z0-9]+([._-][a-z0-9]+)*$/, 'expected a lowercase repository name, or "same"')]).optional()
      .describe('Repository (in the same namespace) where images wait before publishing; "same" stages in the public repository. Default: <repository>-staging, or "same" for ECR, whose repositories must be created beforehand.'),
    credentials: z
      .strictObject({
        username_env: z.string().optional(),
        password_env: z.string().optional(),
        token_env: z.string().optional(),
      })
      .optional(),
    readme: z.boolean().optional(),
    region: z.string().optional(),
    api: z.string().url().refine(isSafeApiUrl, 'expected an https:// URL (http:// only on localhost) without user:password@').optional().describe('Base URL of the registry web API used for README pushes (defaults per kind).'),
  });
}

const cache = z.strictObject({
  type: z.enum(['registry', 'gha', 'local']).describe('registry: a cache image beside the staging images; gha: the GitHub Actions cache service; local: a directory.'),
  ref: z.string().optional().describe('type=registry: cache image (default `<staging repository>:cache-<distro>-<release>-<axis values>-<arch>`); `{registry}`, `{repository}`, `{distro}`, `{release}`, `{arch}` and axis names expand.'),
  scope: z.string().optional().describe('type=gha: cache scope (default `<package>-<distro>-<release>-<axis values>-<arch>`); the same placeholders expand.'),
  dir: z.string().optional().describe('type=local: directory (default `<generated>/.cache/<distro>/<release>/<axis values>/<arch>`); the same placeholders expand.'),
  mode: z.enum(['min', 'max']).optional().describe('Which layers are exported: max (every stage, default) or min (the final image only).'),
});

const build = z.strictObject({
  max_workers: z.number().int().positive().optional(),
  timeout: z.number().positive().optional().describe('Seconds per build or test task.'),
  parent_arg: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/).optional().describe('Build arg carrying the parent image (default BASE_IMAGE).'),
  cache: cache.optional(),
  attest: z.strictObject({
    provenance: z.union([z.enum(['min', 'max']), z.literal(false)]).optional().describe('SLSA provenance attached to every image (buildx --provenance mode=…); false: none.'),
    sbom: z.boolean().optional().describe('An SBOM attached to every image (buildx --sbom).'),
  }).optional().describe('Attestations for build, bake and the workflow; refused on a builder that cannot attach them. --provenance / --sbom override.'),
  multi_platform: z.enum(['auto', 'single', 'split']).optional(),
  runners: z.record(z.string().regex(PLATFORM_RE, 'expected a docker platform like linux/arm64'), z.string().min(1)).optional()
    .describe('CI runner label per platform (native runners); other platforms run under QEMU on the default runner.'),
  default_runner: z.string().min(1).optional().describe('CI runner label for everything else (default ubuntu-latest).'),
});

export function buildSchema(mode: Mode) {
  // Typed as the full shape: the layer variant is only ever exported as JSON Schema.
  const req: Req = (t) => (mode === 'full' ? t : (t.optional() as unknown as typeof t));

  return z.strictObject({
    $schema: z.string().optional(),
    extends: z.union([z.string(), z.array(z.string())]).optional().describe('Base spec files, merged first.'),
    package: req(name('a package name')),
    description: z.string().optional().describe('What the images are; also their org.opencontainers.image.description label.'),
    labels: z.record(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._/-]*$/, 'expected a label key like org.opencontainers.image.licenses'), z.string()).optional()
      .describe('Labels on every image, over the OCI defaults (title, description, source, url, version, revision, created); "" removes a default. org.opencontainers.image.* ones are also the indexes\' annotations.'),
    version: versionString('a version').optional(),
    templates: z.string().optional().describe('Template directory, relative to the file that sets it.'),
    repository: z.string().regex(/^[a-z0-9]+([._-][a-z0-9]+)*$/).optional(),
    python: z.array(versionString('a Python version')).min(1).optional()
      .describe('Shorthand for an axis `python` on every release, with build arg PYTHON_VERSION and id `py`.'),
    architectures: req(z.record(name('an architecture'), z.string().regex(PLATFORM_RE, 'expected a docker platform like linux/arm64'))),
    axes: z.record(axisName, axisSchema(req)).optional().describe('The matrix dimensions beyond distro and architecture; a release names the axes it expands over.'),
    releases: req(z.record(name('a release name'), releaseSchema(req))),
    distros: req(z.record(name('a distro name'), distroSchema(req))),
    exclude: z.array(excludeRule).optional()
      .describe('Combinations of distro, release, architecture and axis values that exist nowhere upstream, so no image (or platform) is planned for them; `manager validate` says what each rule removed.'),
    registries: z.record(name('a registry name'), registrySchema(req)).optional(),
    publish: z.array(z.string()).optional().describe('Registry names this package pushes to (default: all).'),
    directory: z.string().min(1).optional()
      .describe('Where each generated Dockerfile goes, relative to the package\'s generated directory: `{distro}`, `{alias}`, `{family}`, `{release}`, `{release.path}` (a release\'s `path`, such as `runtime/cudnn`) and per-value axes expand (default `{distro}/{release.path}`, then each per-value axis). A directory may hold another; its generated .dockerignore leaves the inner one out of its build context.'),
    output: z.strictObject({
      directory: z.string().min(1).optional(),
      readme: z.boolean().optional(),
      versions: z.boolean().optional(),
    }).optional().describe('Where the package\'s generated tree goes and which package files it holds beside the image directories.'),
    library: z.strictObject({
      maintainers: z.array(z.string().min(1)).min(1).describe('`Name <email> (@github)`, as the official-images library file writes them.'),
      git_repo: z.string().min(1).describe('The repository holding the generated tree (GitRepo).'),
      builder: z.string().regex(/^[a-z]+$/).optional().describe('Builder line of the library file (e.g. buildkit).'),
    }).optional().describe('What `manager export library` writes besides the images: the official-images header.'),
    build: build.optional(),
    dockerfile: z.strictObject({
      header: z.array(z.string().regex(/^#/, 'a header line is a comment or a parser directive: it starts with #')).optional()
        .describe('Lines at the top of every generated Dockerfile: a `# syntax=…` directive, a "generated, do not edit" banner.'),
      env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name'), z.union([z.string(), z.number(), z.boolean()]).transform((v) => String(v))).optional()
        .describe('An environment block for every image: templates place it (it.env, or it.env_block as one ENV instruction).'),
    }).optional().describe('What every generated Dockerfile shares: a header and an environment block.'),
    vars: vars.optional(),
    variables: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name'), z.string()).optional()
      .describe('Template vars (it.vars.NAME) the environment may set, as bake variables: NAME: default. The value in use is an input: a changed one re-renders and rebuilds what it reaches.'),
  });
}

export const fullSchema = buildSchema('full');
export type RawSpec = z.output<typeof fullSchema>;

/**
 * Editor help for the properties the zod shapes leave undescribed, by JSON path (`[*]` a map's
 * values, `[]` a list's items), with their defaults. A unit test holds that every property has one.
 */
const PROPERTY_DOCS: Record<string, { description: string; default?: unknown }> = {
  $schema: { description: 'The JSON Schema this file follows, for editors: schema/manager.schema.json.' },
  package: { description: 'The package name: the default repository name, and `{package}` in templates.' },
  version: { description: 'The package version: `{version}` (and `{version.major}`, `{version.minor}`) in tags and build args; --target-version overrides it.' },
  repository: { description: 'Repository name in every registry (default: the package name); lowercase.' },
  architectures: { description: 'Architecture name → Docker platform, e.g. arm64v8: linux/arm64.' },
  'axes[*].description': { description: 'What the axis is, for the README and messages.' },
  releases: { description: 'The flavors (base, runtime, devel, …) and their hierarchy: each builds FROM its parent.' },
  'releases[*].description': { description: 'What the release is, for the README.' },
  'releases[*].files': { description: 'Support files beside the Dockerfile (entrypoints, configs): rendered from a template or copied verbatim, with a mode, in the image\'s directory or a shared one.' },
  'releases[*].tags': { description: 'Tag templates: strings, or {template, when, shared}.' },
  'releases[*].tags[].template': { description: 'The tag, with `{variable}` placeholders (axes, version, distro, alias, release, sha, date).' },
  'releases[*].build_args': { description: 'Build args of this release: strings, or {git, ref} for a floating git ref pinned by the lock file.' },
  'releases[*].tests': { description: 'Commands run in each built image (per platform) before it is published.' },
  'releases[*].tests[].name': { description: 'The test\'s name, in task output and logs.' },
  'releases[*].tests[].expect': { description: 'What passing means: an exit code and a regular expression the output matches.', default: { exit_code: 0 } },
  'releases[*].tests[].expect.exit_code': { description: 'The exit code a pass returns.', default: 0 },
  'releases[*].tests[].timeout': { description: 'Seconds this test may take (default: build.timeout).' },
  'releases[*].timeout': { description: 'Seconds each build of this release may take (default: build.timeout).' },
  distros: { description: 'The distros every release is built on, each with its base image and template directory.' },
  'distros[*].description': { description: 'What the distro is, for the README.' },
  'distros[*].alias': { description: 'The name tags use for the distro (`{alias}`), e.g. bullseye for debian11 (default: the distro name).' },
  'distros[*].family': { description: 'The distro family (debian, rhel, alpine, amazon, …): the default template directory.' },
  'distros[*].package_manager': { description: 'The package manager templates use (it.distro.package_manager).' },
  'distros[*].templates': { description: 'Template directory of this distro (default: its family).' },
  'distros[*].architectures': { description: 'The architectures this distro is built for (names from `architectures`).' },
  'distros[*].python.include': { description: 'Python versions added to the inherited ones.' },
  'distros[*].python.exclude': { description: 'Python versions taken out of the inherited ones.' },
  'distros[*].axes[*].include': { description: 'Values added to the inherited ones.' },
  'distros[*].axes[*].exclude': { description: 'Values taken out of the inherited ones.' },
  'distros[*].releases': { description: 'The releases built on this distro: a list, or a map to per-release settings.' },
  'distros[*].releases[*].architectures': { description: 'The architectures of this release on this distro (a subset of the distro\'s).' },
  'distros[*].releases[*].python.include': { description: 'Python versions added here.' },
  'distros[*].releases[*].python.exclude': { description: 'Python versions taken out here.' },
  'distros[*].releases[*].files': { description: 'Extra files for this release on this distro.' },
  'distros[*].releases[*].build_args': { description: 'Build args for this release on this distro, over the release\'s and the distro\'s.' },
  'distros[*].releases[*].axes[*].include': { description: 'Values added here.' },
  'distros[*].releases[*].axes[*].exclude': { description: 'Values taken out here.' },
  'distros[*].build_args': { description: 'Build args for every release on this distro, over the release\'s.' },
  registries: { description: 'Where images are pushed: name → registry.' },
  'registries[*].kind': { description: 'The registry\'s kind: its default host, login and README API.' },
  'registries[*].host': { description: 'host[:port] (default per kind: docker.io, quay.io, ghcr.io, gcr.io).' },
  'registries[*].namespace': { description: 'The user, organisation or project the repositories live in.' },
  'registries[*].repository': { description: 'Repository name in this registry (default: the spec\'s repository, else the package).' },
  'registries[*].credentials': { description: 'Names of the environment variables (or .env keys) holding this registry\'s credentials.' },
  'registries[*].credentials.username_env': { description: 'Variable holding the user name.' },
  'registries[*].credentials.password_env': { description: 'Variable holding the password or access token.' },
  'registries[*].credentials.token_env': { description: 'Variable holding an API token (README pushes where the kind needs one).' },
  'registries[*].readme': { description: 'Push the generated README.md to this registry\'s repository page.', default: false },
  'registries[*].region': { description: 'ECR: the AWS region.' },
  'output.directory': { description: 'The package\'s generated directory, relative to the generated root (`--output`, else the layout\'s `generated/`): `{package}` expands, and `.` is the generated root itself, as a docker-library repository keeps `<version>/<variant>/Dockerfile` at its top (with `--output` naming the repository). Two packages of one spec root may not name the same directory.', default: '{package}' },
  'output.readme': { description: 'Write the generated README.md into the package directory; false leaves a README of the repository\'s own alone (a registry with `readme: true` is then an error: there is no README to push).', default: true },
  'output.versions': { description: 'Write the `versions` file (the package version) into the package directory.', default: true },
  build: { description: 'How builds run: workers, timeouts, caches, attestations, multi-platform strategy, CI runners.' },
  'build.max_workers': { description: 'Builds and tests run at once (--max-workers overrides); unset, chosen from the builder when the first build runs (from its CPUs or nodes).' },
  'build.timeout': { description: 'Seconds per build or test task (--timeout overrides).', default: 3600 },
  'build.cache': { description: 'A layer cache per image and platform (registry, gha or local); --cache-from / --cache-to / --cache-type override.' },
  'build.multi_platform': { description: 'split: one build per platform merged by a manifest; single: one build for all platforms (needs a builder that can); auto: what the builder can do.', default: 'auto' },
};

/** Adds PROPERTY_DOCS where a property has no description yet. */
function documented(schema: Record<string, unknown>): Record<string, unknown> {
  const visit = (node: unknown, path: string): void => {
    if (!node || typeof node !== 'object') return;
    const n = node as Record<string, unknown>;
    for (const k of ['anyOf', 'oneOf', 'allOf'] as const) if (Array.isArray(n[k])) for (const x of n[k] as unknown[]) visit(x, path);
    if (n['items'] && typeof n['items'] === 'object') visit(n['items'], `${path}[]`);
    if (n['additionalProperties'] && typeof n['additionalProperties'] === 'object') visit(n['additionalProperties'], `${path}[*]`);
    for (const [k, v] of Object.entries((n['properties'] as Record<string, Record<string, unknown>> | undefined) ?? {})) {
      const at = path ? `${path}.${k}` : k;
      const doc = Object.hasOwn(PROPERTY_DOCS, at) ? PROPERTY_DOCS[at]! : undefined;
      if (doc && v['description'] === undefined) v['description'] = doc.description;
      if (doc?.default !== undefined && v['default'] === undefined) v['default'] = doc.default;
      visit(v, at);
    }
  };
  visit(schema, '');
  return schema;
}

export function jsonSchema(): Record<string, unknown> {
  const js = documented(z.toJSONSchema(buildSchema('layer'), { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>);
  return {
    ...js,
    $id: 'https://image-matrix-manager.invalid/manager.schema.json',
    title: 'Image matrix spec (one layer: defaults file or package manifest)',
  };
}
