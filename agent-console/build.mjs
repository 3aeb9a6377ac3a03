// Builds the agent console into dist/: index.html, app.js, app.css.
// Run with `npm run build`; the Go package embeds whatever is in dist/.
import * as esbuild from 'esbuild';
import { mkdir, readdir, rm, copyFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.dirname(fileURLToPath(import.meta.url));
const dist = path.join(root, 'dist');

// Empty dist/ but keep dist/.keep, which Go's //go:embed needs on a fresh clone.
await mkdir(dist, { recursive: true });
for (const name of await readdir(dist)) {
  if (name !== '.keep') await rm(path.join(dist, name), { recursive: true, force: true });
}

const common = {
  bundle: true,
  minify: true,
  sourcemap: false,
  target: 'es2019',
  legalComments: 'none',
  logLevel: 'warning',
  absWorkingDir: root,
};

await Promise.all([
  esbuild.build({
    ...common,
    entryPoints: ['src/main.tsx'],
    outfile: 'dist/app.js',
    format: 'iife',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    define: { 'process.env.NODE_ENV': '"production"' },
  }),
  esbuild.build({ ...common, entryPoints: ['src/app.css'], outfile: 'dist/app.css' }),
  copyFile(path.join(root, 'src/index.html'), path.join(dist, 'index.html')),
  copyFile(path.join(root, 'src/favicon.svg'), path.join(dist, 'favicon.svg')),
]);

for (const name of (await readdir(dist)).sort()) console.log('dist/' + name);
