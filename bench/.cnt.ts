import { benchIdentifiers } from './identifiers.ts';
import { random } from './random.ts';
import { identifiersFrom } from '../src/detect/identifiers.ts';
import { createDetector } from '../src/detect/detector.ts';
const ids = identifiersFrom(benchIdentifiers(random(7)), 'file');
const d = createDetector(ids);
console.log(ids.length, d.variants.length);
const by = new Map<string, number>(); for (const v of d.variants) by.set(v.identifier.kind, (by.get(v.identifier.kind) ?? 0) + 1); console.log(by);
