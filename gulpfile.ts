/**
 * Task runner. npm scripts are the front door; gulp composes them so that
 * `npx gulp` runs the same steps CI does.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import gulp from 'gulp';

/** Runs `npm run <script>` with inherited output; resolves when it exits 0. */
function npmRun(script: string): () => Promise<void> {
  const task = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const child = spawn('npm', ['run', '--silent', script], { stdio: 'inherit' });
      child.on('error', reject);
      child.on('exit', (code) => {
        if (code === 0) resolve();
        else reject(new Error(`npm run ${script} exited with ${String(code)}`));
      });
    });
  Object.defineProperty(task, 'name', { value: script });
  return task;
}

/** Compiles `src/` to `dist/`. */
export const build = npmRun('build');
/** Type-checks everything and runs eslint. */
export const lint = gulp.series(npmRun('typecheck'), npmRun('lint'));
/** Runs the mocha suite. */
export const test = npmRun('mocha');
/** Builds the API reference into `docs/api/`. */
export const docs = npmRun('docs');

/** Runs the benchmarks that exist. */
export async function bench(): Promise<void> {
  await npmRun('bench:codec')();
  if (existsSync('bench/run.ts')) {
    await npmRun('bench:net')();
  } else {
    console.log('bench: the network benchmark does not exist yet; ran the codec micro-benchmark only');
  }
}

export default gulp.series(lint, test, build);
