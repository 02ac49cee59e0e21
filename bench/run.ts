/**
 * `npm run bench`: the detection engine against the naive baseline on one realistic capture,
 * then its throughput on a binary-heavy one (protobuf, snappy, gRPC, msgpack, sensor samples).
 *
 *   npm run bench                       # 300 MB capture and 30 MB binary capture, all cores
 *   npm run bench -- --mb 1000          # the 1 GB case (memory target: peak RSS under 300 MB)
 *   npm run bench -- --workers 1 --naive-mb 32 --automaton-mb 64 --binary-mb 50
 *
 * Not a timed test: it prints figures, and its last line is machine-readable:
 *   detector_mbps=<n> naive_mbps=<n> ratio=<n> rss_mb=<n> recall=<n> binary_mbps=<n> binary_ratio=<n> binary_recall=<n>
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { buildAutomaton, foldByte, type AutomatonEngine } from '../src/detect/automaton.ts';
import { createDetector } from '../src/detect/detector.ts';
import { exchangeParts } from '../src/detect/exchange-parts.ts';
import { identifiersFrom } from '../src/detect/identifiers.ts';
import { holdsBinary } from '../src/detect/matcher.ts';
import { scanFile } from '../src/detect/scan-file.ts';
import { readJournal } from '../src/journal/reader.ts';
import type { Identifier } from '../src/types.ts';
import { writeBinaryCapture } from './binary-capture.ts';
import { writeCapture, type Plant } from './capture.ts';
import { benchIdentifiers } from './identifiers.ts';
import { random } from './random.ts';

interface Options {
  mb: number;
  workers: number;
  naiveMb: number;
  automatonMb: number;
  binaryMb: number;
}

function options(argv: string[]): Options {
  // Workers default as in `phonehome scan`: none on this 2-core machine (see docs/detection.md).
  const result: Options = { mb: 300, workers: -1, naiveMb: 32, automatonMb: 64, binaryMb: 30 };
  for (let i = 0; i < argv.length; i += 2) {
    const value = Number(argv[i + 1]);
    if (argv[i] === '--mb') result.mb = value;
    else if (argv[i] === '--workers') result.workers = value;
    else if (argv[i] === '--naive-mb') result.naiveMb = value;
    else if (argv[i] === '--automaton-mb') result.automatonMb = value;
    else if (argv[i] === '--binary-mb') result.binaryMb = value;
    else throw new Error(`unknown option ${argv[i]}; see the comment at the top of bench/run.ts`);
  }
  return result;
}

async function main(): Promise<void> {
  const opts = options(process.argv.slice(2));
  const values = benchIdentifiers(random(7));
  const identifiers = identifiersFrom(values, 'file');
  const allVariants = createDetector(identifiers).variants;
  const variantCount = allVariants.length;
  const binaryCount = allVariants.filter((variant) => variant.binary).length;

  const folder = join(import.meta.dirname, '.data');
  mkdirSync(folder, { recursive: true });
  const file = join(folder, `capture-${opts.mb}mb.ndjson`);
  const plantsFile = `${file}.plants.json`;
  if (!existsSync(file) || !existsSync(plantsFile)) {
    console.log(`writing a ${opts.mb} MB capture to ${file} (once; it is kept for the next runs)…`);
    const plants = await writeCapture(file, opts.mb, identifiers, values, random(11));
    writeFileSync(plantsFile, JSON.stringify(plants));
  }
  const plants = JSON.parse(readFileSync(plantsFile, 'utf8')) as Plant[];
  console.log(
    `${identifiers.length} identifiers, ${variantCount} variants (${binaryCount} looked for in binary parts only), ${plants.length} planted`,
  );
  // Other work on the machine moves every figure 2–3×: say how busy it was.
  console.log(`${loadAverage()} at the start`);

  // Peak RSS of the process, worker threads included (they share it).
  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20);
  const started = performance.now();
  const result = await scanFile(
    { format: 'journal', file },
    identifiers,
    opts.workers >= 0 ? { workers: opts.workers } : {},
  );
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  // The detector's own speed: decoded bytes over the time spent detecting, per thread running
  // in parallel. Reading and JSON-parsing the journal are shown apart, end to end.
  const detectorMbps = result.bytesScanned / 1e6 / (result.detectorMs / 1000 / result.threads);
  const endToEndMbps = result.bytesScanned / 1e6 / seconds;

  const found = new Set(result.findings.map((finding) => `${finding.exchange}|${finding.label}`));
  const missed = plants.filter((plant) => !found.has(`${plant.exchange}|${plant.label}`));
  const planted = new Set(plants.map((plant) => plant.exchange));
  const strays = result.findings.filter((finding) => !planted.has(finding.exchange));
  const recall = plants.length === 0 ? 1 : (plants.length - missed.length) / plants.length;

  console.log(
    `detector: ${(result.bytesScanned / 1e6).toFixed(0)} MB scanned (decoded) in ${result.exchanges} exchanges: ${detectorMbps.toFixed(0)} MB/s on ${result.threads} thread(s)`,
  );
  console.log(
    `end to end (reading and parsing the journal included): ${seconds.toFixed(1)} s → ${endToEndMbps.toFixed(0)} MB/s`,
  );
  console.log(
    `recall: ${plants.length - missed.length}/${plants.length}; findings in exchanges where nothing was planted: ${strays.length}`,
  );
  for (const plant of missed.slice(0, 10))
    console.log(`  missed: exchange ${plant.exchange} ${plant.label} (${plant.how})`);
  for (const stray of strays.slice(0, 5))
    console.log(
      `  stray: exchange ${stray.exchange} ${stray.label} ${stray.form} ${stray.where} (${stray.evidence})`,
    );

  const naiveMbps = await naive(file, identifiers, opts.naiveMb);
  const ratio = detectorMbps / naiveMbps;
  console.log(
    `naive indexOf per variant: ${naiveMbps.toFixed(1)} MB/s over the first ${opts.naiveMb} MB of the same parts`,
  );
  console.log(`peak RSS ${(peakRss / 1e6).toFixed(0)} MB`);
  const engines = await automatonAlone(file, identifiers, opts.automatonMb);
  console.log(
    `automaton alone over the first ${opts.automatonMb} MB of the same parts: ${engines.map((e) => `${e.engine} ${e.mbps.toFixed(0)} MB/s`).join(', ')}; the detector scans with ${engines[0]?.engine}`,
  );

  const binary = await binaryRun(folder, opts, identifiers, values);
  console.log(`${loadAverage()} at the end`);
  console.log(
    `detector_mbps=${detectorMbps.toFixed(0)} naive_mbps=${naiveMbps.toFixed(1)} ratio=${ratio.toFixed(1)} rss_mb=${(peakRss / 1e6).toFixed(0)} recall=${recall.toFixed(3)} binary_mbps=${binary.mbps.toFixed(0)} binary_ratio=${binary.ratio.toFixed(1)} binary_recall=${binary.recall.toFixed(3)}`,
  );
}

/**
 * The binary-heavy capture (bench/binary-capture.ts): written once, scanned by `scanFile` as the
 * JSON one is, with its own recall and naive baseline (over its first 8 MB).
 */
async function binaryRun(
  folder: string,
  opts: Options,
  identifiers: Identifier[],
  values: ReturnType<typeof benchIdentifiers>,
): Promise<{ mbps: number; ratio: number; recall: number }> {
  // The version in the name: a change to the corpus writes a new file.
  const file = join(folder, `binary-v1-${opts.binaryMb}mb.ndjson`);
  const plantsFile = `${file}.plants.json`;
  if (!existsSync(file) || !existsSync(plantsFile)) {
    console.log(`writing a ${opts.binaryMb} MB binary capture to ${file} (once)…`);
    const plants = await writeBinaryCapture(file, opts.binaryMb, identifiers, values, random(13));
    writeFileSync(plantsFile, JSON.stringify(plants));
  }
  const plants = JSON.parse(readFileSync(plantsFile, 'utf8')) as Plant[];
  const result = await scanFile(
    { format: 'journal', file },
    identifiers,
    opts.workers >= 0 ? { workers: opts.workers } : {},
  );
  const mbps = result.bytesScanned / 1e6 / (result.detectorMs / 1000 / result.threads);
  const found = new Set(result.findings.map((finding) => `${finding.exchange}|${finding.label}`));
  const missed = plants.filter((plant) => !found.has(`${plant.exchange}|${plant.label}`));
  const planted = new Set(plants.map((plant) => plant.exchange));
  const strays = result.findings.filter((finding) => !planted.has(finding.exchange));
  const recall = plants.length === 0 ? 1 : (plants.length - missed.length) / plants.length;
  const naiveMbps = await naive(file, identifiers, 8);
  console.log(
    `binary capture (protobuf, snappy, gRPC, msgpack, float32 samples): ${(result.bytesScanned / 1e6).toFixed(0)} MB scanned (decoded) in ${result.exchanges} exchanges: ${mbps.toFixed(0)} MB/s on ${result.threads} thread(s); naive ${naiveMbps.toFixed(1)} MB/s over its first 8 MB (${(mbps / naiveMbps).toFixed(0)}×)`,
  );
  console.log(
    `binary recall: ${plants.length - missed.length}/${plants.length}; findings where nothing was planted: ${strays.length} (${strays.filter((f) => f.evidence === 'weak').length} weak)`,
  );
  for (const plant of missed.slice(0, 10))
    console.log(`  missed: exchange ${plant.exchange} ${plant.label} (${plant.how})`);
  for (const stray of strays.slice(0, 5))
    console.log(
      `  stray: exchange ${stray.exchange} ${stray.label} ${stray.form} ${stray.where} (${stray.evidence})`,
    );
  return { mbps, ratio: mbps / naiveMbps, recall };
}

/**
 * The baseline the issue names: one `Buffer.indexOf` loop per variant over every top-level part
 * (URL, headers, bodies) of the same capture, timing the searches only. It is slow enough that
 * it runs on a prefix of the capture; MB/s does not depend on how much it reads.
 */
async function naive(file: string, identifiers: Identifier[], megabytes: number): Promise<number> {
  // As the detector does: numbers sent as numbers are looked for in binary parts only.
  const variants = createDetector(identifiers).variants;
  const all = variants.map((variant) => Buffer.from(variant.bytes));
  const text = variants
    .filter((variant) => !variant.binary)
    .map((variant) => Buffer.from(variant.bytes));
  let bytes = 0;
  let elapsed = 0;
  let hits = 0;
  for await (const record of readJournal(file)) {
    if (record.type !== 'exchange') continue;
    for (const part of exchangeParts(record.exchange)) {
      const haystack = Buffer.from(part.bytes.buffer, part.bytes.byteOffset, part.bytes.byteLength);
      const started = performance.now();
      const needles = holdsBinary(haystack) ? all : text;
      for (const needle of needles) {
        for (let at = haystack.indexOf(needle); at >= 0; at = haystack.indexOf(needle, at + 1))
          hits++;
      }
      elapsed += performance.now() - started;
      bytes += haystack.length;
    }
    if (bytes >= megabytes * 1e6) break;
  }
  void hits;
  return bytes / 1e6 / (elapsed / 1000);
}

/** The load average over 1, 5 and 15 minutes, and the cores it compares to. */
function loadAverage(): string {
  const [one, five, fifteen] = loadavg().map((value) => value.toFixed(2));
  return `load average ${one}, ${five}, ${fifteen} on ${availableParallelism()} cores`;
}

/**
 * The scan alone, without decoding: each engine of the automaton over the top-level parts of the
 * first megabytes, with the patterns matcher.ts gives it (the first 16 bytes of each variant,
 * case-folded). The first engine is the one the detector uses; the reference DFA follows.
 */
async function automatonAlone(
  file: string,
  identifiers: Identifier[],
  megabytes: number,
): Promise<{ engine: AutomatonEngine; mbps: number }[]> {
  const anchors = new Map<string, Uint8Array>();
  // The text parts' automaton: the binary one adds numbers' short anchors (see matcher.ts).
  for (const variant of createDetector(identifiers).variants) {
    if (variant.binary) continue;
    const anchor = Uint8Array.from(variant.bytes.subarray(0, 16), foldByte);
    anchors.set(Buffer.from(anchor).toString('latin1'), anchor);
  }
  const patterns = [...anchors.values()];
  const parts: Uint8Array[] = [];
  let bytes = 0;
  for await (const record of readJournal(file)) {
    if (record.type !== 'exchange') continue;
    for (const part of exchangeParts(record.exchange)) {
      parts.push(part.bytes);
      bytes += part.bytes.length;
    }
    if (bytes >= megabytes * 1e6) break;
  }
  const automata = [buildAutomaton(patterns)];
  if (automata[0]?.engine !== 'js') automata.push(buildAutomaton(patterns, { engine: 'js' }));
  return automata.map((automaton) => {
    let best = Infinity;
    let hits = 0;
    // Best of three: the first pass also warms the JIT up.
    for (let round = 0; round < 3; round++) {
      const started = performance.now();
      for (const part of parts) automaton.scan(part, () => hits++);
      best = Math.min(best, performance.now() - started);
    }
    void hits;
    return { engine: automaton.engine, mbps: bytes / 1e6 / (best / 1000) };
  });
}

await main();
