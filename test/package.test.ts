/**
 * The package as npm would publish it: `npm pack` (which runs `prepare`, the
 * build into dist/) into a temporary directory, then the tarball installed
 * into an empty ESM project, imported by Node, type-checked by TypeScript
 * and its contents inspected. Nothing is installed into this repository;
 * the temporary directory is removed at the end.
 */
import { expect } from 'chai';
import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';

const ROOT = join(import.meta.dirname, '..');
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const TYPE_ROOTS = join(ROOT, 'node_modules', '@types');
/** What `files` in package.json ships, plus the package.json npm always adds. */
const SHIPPED_TOP_LEVEL = new Set(['dist', 'README.md', 'CHANGELOG.md', 'LICENSE', 'package.json']);

interface PackageJson {
  main?: string;
  types?: string;
  bin?: Record<string, string>;
  exports?: Record<string, unknown>;
}

interface SourceMap {
  sourceRoot?: string;
  sources: string[];
  sourcesContent?: (string | null)[];
}

const childEnv: NodeJS.ProcessEnv = {
  ...process.env,
  NODE_DEBUG: undefined,
  npm_config_audit: 'false',
  npm_config_fund: 'false',
  npm_config_update_notifier: 'false',
};

/** Runs a command to its end; throws with its output if it fails or outlives `timeout`. */
function run(command: string, args: string[], cwd: string, timeout: number): SpawnSyncReturns<string> {
  const r = spawnSync(command, args, { cwd, env: childEnv, encoding: 'utf8', timeout, stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.error !== undefined || r.status !== 0) {
    const why = r.error !== undefined ? r.error.message : r.signal !== null ? `killed by ${r.signal}` : `exit code ${String(r.status)}`;
    throw new Error(`${command} ${args.join(' ')} (in ${cwd}) failed: ${why}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  }
  return r;
}

/** Every file under `dir`, as a POSIX path relative to it. */
function listFiles(dir: string, prefix = ''): string[] {
  return readdirSync(join(dir, prefix), { withFileTypes: true }).flatMap((entry) => {
    const rel = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
    return entry.isDirectory() ? listFiles(dir, rel) : [rel];
  });
}

describe('the npm package (npm pack, installed in an empty project)', function () {
  this.timeout(60_000);

  let tmp = '';
  let project = '';
  /** The unpacked tarball (its `package/` folder). */
  let unpacked = '';
  /** Every path in the tarball, relative to `package/`. */
  let files: string[] = [];
  let pkg: PackageJson = {};

  before(function () {
    tmp = mkdtempSync(join(tmpdir(), 'hopwire-pack-'));
    const packDir = join(tmp, 'pack');
    mkdirSync(packDir);
    // `prepare` builds dist/ with tsconfig.build.json before packing.
    run('npm', ['pack', '--pack-destination', packDir], ROOT, 50_000);
    const tarballs = readdirSync(packDir).filter((f) => f.endsWith('.tgz'));
    expect(tarballs, 'npm pack made one tarball').to.have.length(1);
    const tarball = join(packDir, tarballs[0]!);

    const extracted = join(tmp, 'extracted');
    mkdirSync(extracted);
    run('tar', ['-xzf', tarball, '-C', extracted], tmp, 10_000);
    unpacked = join(extracted, 'package');
    files = listFiles(unpacked);
    pkg = JSON.parse(readFileSync(join(unpacked, 'package.json'), 'utf8')) as PackageJson;

    project = join(tmp, 'project');
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'hopwire-pack-check', version: '0.0.0', private: true, type: 'module' }, null, 2));
    // hopwire has no runtime dependencies, so the registry is never needed.
    try {
      run('npm', ['install', '--no-audit', '--no-fund', '--offline', tarball], project, 30_000);
    } catch {
      run('npm', ['install', '--no-audit', '--no-fund', tarball], project, 15_000);
    }
  });

  after(() => {
    if (tmp !== '') rmSync(tmp, { recursive: true, force: true });
  });

  it('imports in a plain ESM project: Server and Client are functions', () => {
    const r = run(process.execPath, ['-e', "import('hopwire').then(m => console.log(typeof m.Server, typeof m.Client))"], project, 10_000);
    expect(r.stdout.trim()).to.equal('function function');
    expect(r.stderr).to.equal('');
  });

  it("without the optional msgpackr, codec: 'msgpack' is an option error that says what to install", () => {
    expect(existsSync(join(project, 'node_modules', 'msgpackr')), 'msgpackr is an optional peer: not installed').to.equal(false);
    const script = "import('hopwire').then(m => { new m.Server({ port: 0 }); try { new m.Server({ codec: 'msgpack' }) } catch (e) { console.log(e.code, e.message) } })";
    const r = run(process.execPath, ['-e', script], project, 10_000);
    expect(r.stdout.trim()).to.equal("ERR_INVALID_OPTION codec: 'msgpack' needs the msgpackr package: npm install msgpackr");
  });

  it('installs the hopwire command, which runs', () => {
    const bin = join(project, 'node_modules', '.bin', 'hopwire');
    expect(existsSync(bin), 'node_modules/.bin/hopwire').to.equal(true);
    const r = run(bin, ['--help'], project, 10_000);
    expect(r.stdout).to.include('Usage: hopwire <command>');
  });

  it('contains the built entry points, and package.json points only at files it contains', () => {
    expect(files).to.include.members(['dist/index.js', 'dist/index.d.ts', 'dist/cli.js', 'package.json']);
    expect(pkg.exports, 'the exports map').to.deep.equal({
      '.': { types: './dist/index.d.ts', import: './dist/index.js' },
      './package.json': './package.json',
    });
    const targets = [pkg.main, pkg.types, ...Object.values(pkg.bin ?? {}), './dist/index.d.ts', './dist/index.js'];
    for (const target of targets) {
      expect(target, 'a package.json entry point').to.be.a('string');
      expect(files, `package.json names ${String(target)}`).to.include(posix.normalize(target!));
    }
  });

  it('ships only what `files` names: no tests, no sources, no keys', () => {
    const outside = files.filter((f) => !SHIPPED_TOP_LEVEL.has(f.split('/')[0]!));
    expect(outside, 'files outside dist/, README.md, CHANGELOG.md, LICENSE').to.deep.equal([]);
    expect(files.filter((f) => f.startsWith('test/') || f.startsWith('src/'))).to.deep.equal([]);
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')), 'TypeScript sources').to.deep.equal([]);
    expect(files.filter((f) => /\.(pem|key|p12|pfx)$/i.test(f)), 'keys and certificates').to.deep.equal([]);
  });

  it('ships no stale build output: every dist/ module has its source in src/', () => {
    const stale = files.filter((f) => f.startsWith('dist/') && f.endsWith('.js')).filter((f) => !existsSync(join(ROOT, 'src', f.slice('dist/'.length).replace(/\.js$/, '.ts'))));
    expect(stale, 'dist/ files whose src/ module no longer exists (prepare does not clean dist/)').to.deep.equal([]);
  });

  it('has no source maps pointing at sources it does not ship', () => {
    const maps = files.filter((f) => f.endsWith('.map'));
    const dangling: string[] = [];
    for (const map of maps) {
      const { sourceRoot = '', sources, sourcesContent } = JSON.parse(readFileSync(join(unpacked, map), 'utf8')) as SourceMap;
      sources.forEach((source, i) => {
        if (typeof sourcesContent?.[i] === 'string') return; // the source is inlined
        const target = posix.normalize(posix.join(posix.dirname(map), sourceRoot, source));
        if (!files.includes(target)) dangling.push(`${map} → ${target}`);
      });
    }
    expect(
      dangling.length,
      `${dangling.length} source references in ${maps.length} source maps name a file that is not in the package ` +
        `(sourceMap/declarationMap in tsconfig.build.json, with src/ not in \`files\`), e.g.\n  ${dangling.slice(0, 4).join('\n  ')}\n`,
    ).to.equal(0);
  });

  it('type-checks a strict TypeScript program that imports it (NodeNext)', function () {
    if (!existsSync(TSC)) this.skip();
    writeFileSync(
      join(project, 'check.ts'),
      `import { Client, HopwireError, Server, type ListenAddress } from 'hopwire';

class Widget {
  constructor(
    public name = '',
    public price = 0,
  ) {}
  total(n: number): number {
    return n * this.price;
  }
}

const server = new Server({ port: 0, types: [Widget] });
server.on('message', (message, ctx) => {
  if (message instanceof Widget) console.log(ctx.type, message.total(3));
});
server.handle((request) => ({ echo: request }));
const address: ListenAddress = await server.listen();
const client = new Client({ ...address, types: [Widget], requestTimeout: 1000 });
await client.connect();
const sent: Promise<void> = client.send(new Widget('bolt', 2));
await sent;
try {
  const reply: unknown = await client.request({ n: 1 }, { timeout: 500 });
  console.log(reply);
} catch (err) {
  if (err instanceof HopwireError) {
    const code: string = err.code;
    console.log(code, err.remoteCode);
  }
}
await client.close();
await server.close();

// The types are real, not \`any\`: each of these must be a type error.
// @ts-expect-error port is a number
new Server({ port: 'eighty' });
// @ts-expect-error no such option
new Client({ port: 1, noSuchOption: true });
// @ts-expect-error code is read-only
new HopwireError('ERR_CLOSED', 'closed').code = 'ERR_PROTOCOL';
`,
    );
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noEmit: true,
          types: ['node'],
          typeRoots: [TYPE_ROOTS],
        },
        files: ['check.ts'],
      }),
    );
    // No skipLibCheck: the shipped .d.ts files are checked too.
    run(process.execPath, [TSC, '-p', 'tsconfig.json'], project, 50_000);
  });
});
