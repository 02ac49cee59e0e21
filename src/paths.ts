import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The phonehome project folder (where package.json, devices.json and scenarios/ are). */
export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
