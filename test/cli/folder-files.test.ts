import { expect } from 'chai';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scanCommand } from '../../src/cli/scan.ts';
import { JournalWriter } from '../../src/journal/writer.ts';
import type { Exchange } from '../../src/types.ts';

const IMEI = '865432101234564';
/** A file of the reader's, outside any run folder: what a shared folder must never make us print. */
const SECRET = `secret of the reader ${IMEI}`;

/** Runs `phonehome scan` in-process and keeps what it printed. */
async function scan(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const { log, error } = console;
  console.log = (...args: unknown[]) => out.push(args.join(' '));
  console.error = (...args: unknown[]) => err.push(args.join(' '));
  try {
    const code = await scanCommand(argv);
    return { code, out: out.join('\n'), err: err.join('\n') };
  } finally {
    console.log = log;
    console.error = error;
  }
}

function exchange(): Exchange {
  return {
    id: 'x',
    startedAt: 10,
    completedAt: 11,
    protocol: 'http',
    host: 'api.vendor.test',
    request: {
      method: 'POST',
      url: 'http://api.vendor.test/up',
      httpVersion: '1.1',
      headers: [],
      body: { encoding: 'file', file: 'bodies/x-request', size: SECRET.length, complete: true },
    },
  };
}

/** A run folder whose journal names bodies/x-request; `lay` puts (or links) the file. */
function runFolder(root: string, name: string, lay: (folder: string) => void): string {
  const folder = join(root, name);
  mkdirSync(folder);
  const journal = JournalWriter.open(join(folder, 'journal.ndjson'));
  journal.append({
    type: 'run-start',
    version: 1,
    at: 1,
    runId: name,
    scenario: 's',
    scenarioTitle: 's',
    device: { id: 'd', kind: 'virtual' },
    identifiers: { imei: [IMEI] },
    consents: [],
    forbiddenHosts: [],
    versions: {},
  });
  journal.append({ type: 'exchange', exchange: exchange() });
  journal.append({ type: 'run-end', at: 3 });
  journal.close();
  lay(folder);
  return folder;
}

/** A HAR as phonehome exports it, its one entry's request body in the file `name`. */
function har(root: string, folderName: string, name: string, lay: (folder: string) => void) {
  const folder = join(root, folderName);
  mkdirSync(folder);
  const file = join(folder, 'capture.har');
  writeFileSync(
    file,
    JSON.stringify({
      log: {
        version: '1.2',
        creator: { name: 'phonehome', version: '0' },
        entries: [
          {
            startedDateTime: new Date(10).toISOString(),
            time: 1,
            request: {
              method: 'POST',
              url: 'http://api.vendor.test/up',
              httpVersion: 'HTTP/1.1',
              headers: [],
              queryString: [],
              cookies: [],
              headersSize: -1,
              bodySize: SECRET.length,
              postData: { mimeType: 'text/plain', text: '' },
            },
            response: {
              status: 200,
              statusText: 'OK',
              httpVersion: 'HTTP/1.1',
              headers: [],
              cookies: [],
              content: { size: 0, mimeType: 'text/plain', text: '' },
              redirectURL: '',
              headersSize: -1,
              bodySize: 0,
            },
            cache: {},
            timings: { send: 0, wait: 1, receive: 0 },
            _phonehome: { bodyFiles: { request: name } },
          },
        ],
      },
    }),
  );
  lay(folder);
  return file;
}

// Run folders and HARs are shared between people: a symlink in one must not make phonehome read
// (and with --reveal print) a file of the reader's outside the folder. Each is refused, exit 2,
// naming the entry; a real file in bodies/ is read as ever.
describe('files stay in their folder', () => {
  const root = mkdtempSync(join(tmpdir(), 'phonehome-folder-files-'));
  const outside = join(root, 'outside');
  mkdirSync(outside);
  writeFileSync(join(outside, 'x-request'), SECRET);
  const ids = join(root, 'ids.json');
  writeFileSync(ids, JSON.stringify({ imei: [IMEI] }));

  const refused: { what: string; input: () => string; says: RegExp }[] = [
    {
      what: 'a run folder whose bodies/x-request links to a file outside',
      input: () =>
        runFolder(root, 'linked-entry', (folder) => {
          mkdirSync(join(folder, 'bodies'));
          symlinkSync(join(outside, 'x-request'), join(folder, 'bodies', 'x-request'));
        }),
      says: /bodies\/x-request, which is a symbolic link out of/,
    },
    {
      what: 'a run folder whose bodies/ links to a folder outside',
      input: () =>
        runFolder(root, 'linked-folder', (folder) => symlinkSync(outside, join(folder, 'bodies'))),
      says: /bodies\/x-request, which is a symbolic link out of/,
    },
    {
      what: 'a HAR whose bodies/x-request links to a file outside',
      input: () =>
        har(root, 'har-linked', 'bodies/x-request', (folder) => {
          mkdirSync(join(folder, 'bodies'));
          symlinkSync(join(outside, 'x-request'), join(folder, 'bodies', 'x-request'));
        }),
      says: /bodies\/x-request, which is a symbolic link out of/,
    },
    {
      what: 'a HAR whose bodies/ links to a folder outside',
      input: () =>
        har(root, 'har-linked-folder', 'bodies/x-request', (folder) =>
          symlinkSync(outside, join(folder, 'bodies')),
        ),
      says: /bodies\/x-request, which is a symbolic link out of/,
    },
    {
      what: 'a HAR naming a file outside bodies/',
      input: () => har(root, 'har-escape', '../outside/x-request', () => undefined),
      says: /"\.\.\/outside\/x-request", which is not in its bodies\/ folder/,
    },
  ];

  for (const row of refused) {
    it(`refuses ${row.what}: exit 2, naming the entry, nothing of the file shown`, async () => {
      const { code, out, err } = await scan(row.input(), '--identifiers', ids, '--reveal');
      expect(code, err).to.equal(2);
      expect(err).to.match(row.says);
      expect(out + err).not.to.include('secret of the reader');
    });
  }

  it('reads a real file in bodies/ (and a link inside bodies/ to it)', async () => {
    const folder = runFolder(root, 'real', (folder) => {
      mkdirSync(join(folder, 'bodies'));
      writeFileSync(join(folder, 'bodies', 'original'), SECRET);
      symlinkSync('original', join(folder, 'bodies', 'x-request'));
    });
    const { code, out, err } = await scan(folder, '--identifiers', ids, '--json');
    expect(code, err).to.equal(1);
    const findings = JSON.parse(out).findings as { kind: string; where: string }[];
    expect(findings.map((f) => [f.kind, f.where])).to.deep.equal([['imei', 'request-body']]);
  });
});
