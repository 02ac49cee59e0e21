import { parentPort, workerData } from 'node:worker_threads';
import { describeError } from '../errors.ts';
import type { Identifier } from '../types.ts';
import { createDetector } from './detector.ts';
import { runScanJob, type ScanJob, type ScanJobResult } from './scan-job.ts';

/**
 * A scanning thread: builds its own detector (automata are not shareable between threads) and
 * answers each batch of jobs with their findings. See `scanFile`.
 */
const { identifiers, file } = workerData as { identifiers: Identifier[]; file: string };
const detector = createDetector(identifiers);

parentPort?.on('message', async (jobs: ScanJob[]) => {
  const before = detector.bytesScanned();
  try {
    const results: ScanJobResult[] = [];
    for (const job of jobs) results.push(await runScanJob(job, detector, file));
    parentPort?.postMessage({ results, bytesScanned: detector.bytesScanned() - before });
  } catch (error) {
    parentPort?.postMessage({
      failure: describeError(error),
      code: (error as { code?: string }).code,
    });
  }
});
