import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { PROJECT_ROOT } from '../../src/paths.ts';

const SRC = join(PROJECT_ROOT, 'src');

/**
 * The pipeline of README.md ("How it works"), as layers of src/: a file may import its own layer and those
 * before it, never one after. Type-only imports count too: they are dependencies all the same.
 */
const LAYERS: string[][] = [
  // The plain data shapes, the one error class, where the project is, Ctrl-C handling.
  ['types.ts', 'coverage.ts', 'body-files.ts', 'errors.ts', 'paths.ts', 'shutdown.ts'],
  // Content codings (gzip, br, zstd) within the decoding budget: the capture and the detector's.
  ['codec'],
  ['config'],
  // Reading HAR files: farm network logs (device) and captures to scan (detect) arrive as HAR.
  ['har'],
  ['device', 'appium'],
  ['capture'],
  ['journal'],
  ['timeline'],
  ['detect'],
  ['verdict'],
  ['report'],
  ['diff', 'merge'],
  // One run's life (run folder, proxy, phone, journal, verdicts, reports), for run and capture.
  ['session'],
  ['scenario'],
  ['cli'],
  ['index.ts'],
];

function layerOf(file: string): number {
  const top = relative(SRC, file).split('/')[0]!;
  const layer = LAYERS.findIndex((names) => names.includes(top));
  if (layer < 0)
    throw new Error(`${relative(PROJECT_ROOT, file)} is in no layer: add '${top}' to LAYERS`);
  return layer;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Relative imports of a file: static, type-only, re-exports, side-effect and dynamic ones. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specifiers = [
    ...text.matchAll(/^\s*(?:import|export)\b[^'"]*?\bfrom\s*'([^']+)'/gms),
    ...text.matchAll(/^\s*import\s*'([^']+)'/gm),
    ...text.matchAll(/\bimport\(\s*'([^']+)'\s*\)/g),
  ].map((match) => match[1]!);
  return specifiers.filter((s) => s.startsWith('.')).map((s) => resolve(dirname(file), s));
}

describe('the import order of src/ (the pipeline, no cycles)', () => {
  const files = sourceFiles(SRC);
  const graph = new Map(files.map((file) => [file, importsOf(file)]));
  const name = (file: string) => relative(SRC, file);

  it('finds the imports it checks', () => {
    // A parser that saw nothing would pass everything: the CLI's main file imports many stages.
    expect(graph.get(join(SRC, 'cli', 'main.ts'))!.length).to.be.greaterThan(5);
    expect(graph.get(join(SRC, 'index.ts'))!.map(name)).to.include('scenario/mocha.ts');
  });

  it('imports only files that exist', () => {
    const missing = [...graph].flatMap(([file, targets]) =>
      targets.filter((target) => !graph.has(target)).map((t) => `${name(file)} → ${name(t)}`),
    );
    expect(missing).to.deep.equal([]);
  });

  it('never imports a later stage of the pipeline', () => {
    const upward = [...graph].flatMap(([file, targets]) =>
      targets
        .filter((target) => graph.has(target) && layerOf(target) > layerOf(file))
        .map((target) => `${name(file)} → ${name(target)}`),
    );
    expect(upward).to.deep.equal([]);
  });

  it('has no import cycle', () => {
    const state = new Map<string, 'open' | 'done'>();
    const cycles: string[] = [];
    const visit = (file: string, path: string[]) => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'open') {
        cycles.push([...path.slice(path.indexOf(file)), file].map(name).join(' → '));
        return;
      }
      state.set(file, 'open');
      for (const target of graph.get(file) ?? []) visit(target, [...path, file]);
      state.set(file, 'done');
    };
    for (const file of files) visit(file, []);
    expect(cycles).to.deep.equal([]);
  });
});
