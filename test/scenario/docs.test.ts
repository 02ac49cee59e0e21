import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/paths.ts';

const read = (file: string) => readFileSync(join(PROJECT_ROOT, file), 'utf8');

/** The text of one `## heading` section of docs/scenarios.md. */
function section(heading: string): string {
  const doc = read('docs/scenarios.md');
  const start = doc.indexOf(`## ${heading}`);
  expect(start, `docs/scenarios.md has a section '${heading}'`).to.be.at.least(0);
  const end = doc.indexOf('\n## ', start + 1);
  return doc.slice(start, end < 0 ? undefined : end);
}

/** Names documented as list items: "- `prefix.name(…)`" or "- `name`". */
function documented(text: string, prefix = ''): string[] {
  const escaped = prefix.replaceAll('.', '\\.');
  const pattern = new RegExp(`^- \`${escaped}([A-Za-z]+)`, 'gm');
  return [...text.matchAll(pattern)].map((match) => match[1]!).sort();
}

/** The public members of a class or fields of an interface, read from its source. */
function members(file: string, opening: RegExp): string[] {
  const source = read(file);
  const start = source.search(opening);
  expect(start, `${file} has ${opening}`).to.be.at.least(0);
  const body = source.slice(start, source.indexOf('\n}\n', start));
  const names = [
    ...body.matchAll(
      /^ {2}(?!private |constructor)(?:readonly |async |get )?([a-zA-Z]+)[?]?[(:= <]/gm,
    ),
  ].map((match) => match[1]!);
  return [...new Set(names)].sort();
}

// docs/scenarios.md is the scenario author's reference: every list in it must name exactly what
// the code has, no more (a promise the code does not keep) and no less (a feature nobody finds).
describe('docs/scenarios.md lists the whole scenario API', () => {
  it('every defineScenario field', () => {
    expect(documented(section('`defineScenario` fields'))).to.deep.equal(
      members('src/scenario/define.ts', /export interface ScenarioDefinition \{/),
    );
  });

  it('every ScenarioPhone member', () => {
    const phone = section('The phone');
    expect(documented(phone, 'phone.')).to.deep.equal(
      members('src/scenario/phone.ts', /export class ScenarioPhone /),
    );
  });

  it('every canary', () => {
    expect(documented(section('Canaries'), 'phone.canary.')).to.deep.equal(
      members('src/scenario/canary.ts', /export class CanaryMaker /),
    );
  });

  it('every chai assertion phonehome adds', () => {
    const added = [...read('src/verdict/chai.ts').matchAll(/addMethod\(\s*'([a-zA-Z]+)'/g)]
      .map((match) => match[1]!)
      .sort();
    expect(documented(section('Assertions'))).to.deep.equal(added);
  });

  it('every RunResult field', () => {
    const text = section('The run');
    // "- `startedAt`, `endedAt` — …" documents two.
    const names = [...text.matchAll(/^- ((?:`[a-zA-Z]+`(?:, )?)+)/gm)]
      .flatMap((match) => [...match[1]!.matchAll(/`([a-zA-Z]+)`/g)].map((name) => name[1]!))
      .sort();
    expect(names).to.deep.equal(members('src/types.ts', /export interface RunResult \{/));
  });

  it('is linked from the README', () => {
    expect(read('README.md')).to.include('(docs/scenarios.md)');
  });
});
