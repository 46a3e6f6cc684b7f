// Build the widget bundle into src/graphlive/static/ (committed, so `pip install` needs no Node).
//
//   node build.mjs           build graphview.js + graphview.css
//   node build.mjs --check   build in memory and fail if the committed files differ (CI)
//
// The layout worker is built first as a standalone script and inlined into the main bundle as a
// string: the widget's ES module is loaded from a blob: URL, so a separate worker file could not
// be addressed; the page starts the worker from a blob of that string instead.
import { readFile, writeFile, mkdir } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import * as esbuild from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const outDir = resolve(here, "../src/graphlive/static");
const MAX_BYTES = 300 * 1024;
const check = process.argv.includes("--check");

const common = {
  bundle: true,
  minify: true,
  write: false,
  target: "es2020",
  legalComments: "eof",
  logLevel: "warning",
};

const worker = await esbuild.build({
  ...common,
  entryPoints: [resolve(here, "src/layout/worker.ts")],
  format: "iife",
  platform: "browser",
});
const workerSource = worker.outputFiles[0].text;

const main = await esbuild.build({
  ...common,
  entryPoints: [resolve(here, "src/widget.ts")],
  format: "esm",
  platform: "browser",
  define: { __LAYOUT_WORKER_SOURCE__: JSON.stringify(workerSource) },
  metafile: true,
});

const css = await esbuild.build({
  ...common,
  entryPoints: [resolve(here, "src/view/styles.css")],
  loader: { ".css": "css" },
});

const outputs = [
  ["graphview.js", main.outputFiles[0].text],
  ["graphview.css", css.outputFiles[0].text],
];

const js = Buffer.byteLength(outputs[0][1]);
console.log(`graphview.js  ${(js / 1024).toFixed(1)} KiB (layout worker ${(workerSource.length / 1024).toFixed(1)} KiB inlined)`);
console.log(`graphview.css ${(Buffer.byteLength(outputs[1][1]) / 1024).toFixed(1)} KiB`);
if (js > MAX_BYTES) {
  console.error(`bundle is over the ${MAX_BYTES / 1024} KiB budget`);
  process.exit(1);
}

if (check) {
  let stale = false;
  for (const [name, text] of outputs) {
    const current = await readFile(resolve(outDir, name), "utf8").catch(() => null);
    if (current !== text) {
      console.error(`src/graphlive/static/${name} is out of date: run \`npm run build\` in js/ and commit it`);
      stale = true;
    }
  }
  process.exit(stale ? 1 : 0);
}

await mkdir(outDir, { recursive: true });
for (const [name, text] of outputs) await writeFile(resolve(outDir, name), text);
