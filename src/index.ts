/**
 * What scenario files import: `defineScenario` to declare an audit, `expect` (chai with
 * phonehome's assertions), and the data types.
 */
export { defineScenario, type Scenario, type ScenarioDefinition } from './scenario/define.ts';
export type { ScenarioPhone } from './scenario/phone.ts';
export { expect, type LeakFilter } from './verdict/chai.ts';
export type * from './types.ts';
import './scenario/mocha.ts';
