// Build mlops_workbench/share/widgets-embed.js from src/embed.js and the packages pinned in package-lock.json, and
// widgets-embed.LICENSE.txt beside it: what the file is, every package whose code or style is in it with its license
// text, and the legal comments esbuild took out of the code. `make widgets-bundle` runs `npm ci`, then this; the same
// lock file gives the same two files.
import * as esbuild from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const share = path.join(here, '..', 'mlops_workbench', 'share');
const packageJson = (name) => JSON.parse(fs.readFileSync(path.join(here, 'node_modules', name, 'package.json'), 'utf8'));
const version = (name) => `${name} ${packageJson(name).version}`;
const common = { absWorkingDir: here, bundle: true, minify: true, write: false, metafile: true, legalComments: 'external', logLevel: 'warning' };

// The packages an esbuild result took bytes from: the folder under node_modules of each input.
function packagesOf(metafile) {
  const found = new Set();
  for (const output of Object.values(metafile.outputs)) {
    for (const [file, input] of Object.entries(output.inputs)) {
      const match = file.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\//);
      if (match && input.bytesInOutput > 0) {
        found.add(match[1]);
      }
    }
  }
  return found;
}

const file = (result, suffix) => result.outputFiles.find((f) => f.path.endsWith(suffix))?.text ?? '';

// A style sheet with its @imports resolved, minified, as text.
async function styleSheet(imports) {
  const contents = imports.map((i) => `@import '${i}';`).join('\n');
  return esbuild.build({ ...common, stdin: { contents, loader: 'css', resolveDir: here }, outfile: 'style.css' });
}

// The file sits in a `<script type='text/plain'>` block of the page (dashboard.py escapes `</script`): an HTML
// comment opener it holds must close before any `<script`, else the parser would not end the block where it should.
function checkHtmlSafe(js) {
  for (let at = js.indexOf('<!--'); at !== -1; at = js.indexOf('<!--', at + 1)) {
    const closed = js.indexOf('-->', at + 2);
    const opened = js.slice(at, closed === -1 ? undefined : closed).search(/<script[\s/>]/i);
    if (opened !== -1) {
      throw new Error(`widgets-embed.js: '<!--' at ${at} is followed by '<script' before '-->'`);
    }
  }
}

// The license text of a package: its own file, else the one in licenses/ for packages of its scope that ship none.
function licenseText(name) {
  const folder = path.join(here, 'node_modules', name);
  const own = fs.readdirSync(folder).find((f) => /^(licen[cs]e|copying)(\.(md|txt))?$/i.test(f));
  if (own) {
    return fs.readFileSync(path.join(folder, own), 'utf8').trim();
  }
  const scoped = path.join(here, 'licenses', `${name.split('/')[0].replace('@', '')}.txt`);
  if (!fs.existsSync(scoped)) {
    throw new Error(`${name} ships no license file and licenses/ has none for it`);
  }
  return fs.readFileSync(scoped, 'utf8').trim();
}

const widgetsCss = await styleSheet(['@lumino/widgets/style/index.css', '@jupyter-widgets/controls/css/widgets-base.css']);
const labCss = await styleSheet(['@jupyter-widgets/controls/css/labvariables.css']);
const models = ['@jupyter-widgets/base', '@jupyter-widgets/base-manager', '@jupyter-widgets/controls', '@jupyter-widgets/output']
  .map(version).join(', ');
const builder = version('esbuild');
const out = path.join(share, 'widgets-embed.js');

const result = await esbuild.build({
  ...common,
  entryPoints: ['src/embed.js'], outfile: out, format: 'iife', target: 'es2020', platform: 'browser',
  alias: { 'sanitize-html': './src/sanitize-html.js' },
  define: { WIDGETS_CSS: JSON.stringify(file(widgetsCss, 'style.css')), LAB_VARIABLES_CSS: JSON.stringify(file(labCss, 'style.css')) },
  banner: { js: `/*! mlops-workbench's static dashboard widget manager (js/src/embed.js) with ${models}, built by ${builder}; licenses: widgets-embed.LICENSE.txt */` },
});
const js = file(result, 'widgets-embed.js');
checkHtmlSafe(js);

const names = [...new Set([...packagesOf(result.metafile), ...packagesOf(widgetsCss.metafile), ...packagesOf(labCss.metafile)])].sort();
const legal = [result, widgetsCss, labCss].map((r) => file(r, '.LEGAL.txt').trim()).filter(Boolean).join('\n\n');
const byLicense = new Map(); // the packages of each license text (the Jupyter and Lumino packages share theirs)
for (const name of names) {
  byLicense.set(licenseText(name), [...(byLicense.get(licenseText(name)) ?? []), name]);
}
const sections = [
  `widgets-embed.js (${Buffer.byteLength(js)} bytes) is the widget manager of mlops-workbench's static dashboard
(mlops-wb dashboard --static): js/src/*.js of this repository, bundled and minified by ${builder} (js/build.mjs,
run by \`make widgets-bundle\`) with the npm packages pinned in js/package-lock.json. It renders the ipywidgets 8
state embedded in the page with the ManagerBase of @jupyter-widgets/base-manager and the models and views of
@jupyter-widgets/base, @jupyter-widgets/controls and @jupyter-widgets/output (versions below), and adds the style
sheets of @lumino/widgets and @jupyter-widgets/controls (widgets-base.css; labvariables.css where the page defines
no JupyterLab theme).

What differs from dist/embed.js of @jupyter-widgets/html-manager 1.0.15, used before: the Output widget shows its
stored outputs with js/src/output.js (a widget, HTML, an image or text), not with JupyterLab's output area and
rendermime; the HTML sanitizer base-manager applies to descriptions with description_allow_html (sanitize-html)
is DOMPurify with the same allowlist (js/src/sanitize-html.js). Left out: the models of ipywidgets 7, Font Awesome
(its fonts never loaded in the offline page), the JSON-schema check of the state. A model the file does not hold
shows ipywidgets' error widget, and the rest of the page renders.

js/src/*.js: Apache-2.0, as mlops-workbench; they follow lib/embed.js, lib/libembed.js, lib/htmlmanager.js and
lib/output.js of @jupyter-widgets/html-manager (BSD-3-Clause, Copyright (c) 2015 Project Jupyter Contributors).

The packages whose code or style is in the file, with their licenses (texts below):
${names.map((name) => `  ${version(name)}: ${packageJson(name).license}`).join('\n')}`,
  ...[...byLicense].map(([text, group]) => `=== ${group.map(version).join(', ')}\n\n${text}`),
  `=== the legal comments esbuild moved out of the code\n\n${legal}`,
];
fs.writeFileSync(out, js);
fs.writeFileSync(path.join(share, 'widgets-embed.LICENSE.txt'), `${sections.join('\n\n\n')}\n`);
console.log(`${path.relative(process.cwd(), out)}: ${Buffer.byteLength(js)} bytes, from ${names.length} packages`);
