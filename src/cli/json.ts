/**
 * The version of every `--json` output's shape (run, devices, scan, diff, merge): it goes up when
 * a field changes meaning or goes away, so scripts that read it can check what they got.
 */
export const JSON_SCHEMA_VERSION = 1;
