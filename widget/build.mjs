// Builds the widget into dist/: widget.js (the loader a site pastes),
// frame.html + frame.js + frame.css (the chat window inside the iframe),
// lang-LANG.json (the words of each language but English, loaded on demand).
// Run with `npm run build`; the Go package embeds whatever is in dist/.
import * as esbuild from 'esbuild';
import { mkdir, readdir, rm, copyFile, readFile, writeFile } from 'node:fs/promises';
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
  charset: 'utf8', // the Arabic strings are half the size as UTF-8 than as \u escapes
  logLevel: 'warning',
  absWorkingDir: root,
};

await Promise.all([
  esbuild.build({ ...common, entryPoints: ['src/loader.ts'], outfile: 'dist/widget.js', format: 'iife' }),
  esbuild.build({ ...common, entryPoints: ['src/frame.ts'], outfile: 'dist/frame.js', format: 'iife' }),
  esbuild.build({ ...common, entryPoints: ['src/frame.css'], outfile: 'dist/frame.css' }),
  copyFile(path.join(root, 'src/frame.html'), path.join(dist, 'frame.html')),
  // Every language but English (built into frame.js), minified, fetched on demand.
  ...(await readdir(path.join(root, 'src/lang')))
    .filter((f) => f.endsWith('.json') && f !== 'en.json')
    .map(async (f) => writeFile(path.join(dist, 'lang-' + f), JSON.stringify(JSON.parse(await readFile(path.join(root, 'src/lang', f), 'utf8'))))),
]);

for (const name of (await readdir(dist)).sort()) console.log('dist/' + name);
