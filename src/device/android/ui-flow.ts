import type { UiSelector, UiStep } from '../../config/devices.ts';
import { PhonehomeError } from '../../errors.ts';
import type { DriverSession } from '../device.ts';
import { shell, type Adb } from './adb-client.ts';

/**
 * The element commands of a WebDriver session (WebdriverIO's browser has them). The Device
 * interface only promises `execute`, so flows check for these at run time.
 */
export interface ElementSession extends DriverSession {
  findElement(using: string, value: string): Promise<unknown>;
  elementClick(elementId: string): Promise<unknown>;
  elementSendKeys(elementId: string, text: string): Promise<unknown>;
}

function hasElements(session: DriverSession): session is ElementSession {
  const s = session as Partial<ElementSession>;
  return (
    typeof s.findElement === 'function' &&
    typeof s.elementClick === 'function' &&
    typeof s.elementSendKeys === 'function'
  );
}

/** W3C's key for an element reference in a findElement answer. */
const ELEMENT_KEY = 'element-6066-11e4-a52f-4a4f4e4f4e54';

/** Key names a flow may use, as Android keycodes. */
const KEYS: Record<string, number> = { HOME: 3, BACK: 4, CALL: 5, ENDCALL: 6, ENTER: 66, TAB: 61 };

export interface FlowOptions {
  /** Values for `${name}` in typed texts, e.g. { account: 'me@example.com' }. */
  variables?: Record<string, string>;
  /** How long a tap waits for its element to appear, in ms. */
  findTimeoutMs?: number;
}

/**
 * Runs a UI flow from devices.json: activities started over adb, taps and typing through the
 * UiAutomator2 session (its finder sees what the user sees; `uiautomator dump` cannot run beside
 * it), keys over adb.
 *
 * @example
 *   await runFlow(session, adb, [{ start: 'com.android.settings/.Settings' }, { tap: { text: 'Xiaomi Cloud' } }], 'cloud-login');
 */
export async function runFlow(
  session: DriverSession,
  adb: Adb,
  steps: UiStep[],
  flowName: string,
  options: FlowOptions = {},
): Promise<void> {
  for (const [index, step] of steps.entries()) {
    const where = `step ${index + 1} of flow '${flowName}'`;
    if (step.start) {
      await shell(adb, ['am', 'start', '-W', '-n', step.start]);
    } else if (step.action) {
      await shell(adb, ['am', 'start', '-W', '-a', step.action]);
    } else if (step.key) {
      const code = KEYS[step.key.toUpperCase()] ?? Number(step.key);
      if (!Number.isInteger(code)) {
        throw new PhonehomeError(
          'FLOW_INVALID',
          `${where}: unknown key '${step.key}'; use ${Object.keys(KEYS).join(', ')} or a keycode number`,
        );
      }
      await shell(adb, ['input', 'keyevent', String(code)]);
    } else if (step.tap) {
      const id = await find(session, step.tap, where, options.findTimeoutMs ?? 10_000);
      await (session as ElementSession).elementClick(id);
    } else if (step.type) {
      const id = await find(session, step.type.into, where, options.findTimeoutMs ?? 10_000);
      await (session as ElementSession).elementSendKeys(
        id,
        fill(step.type.text, options.variables ?? {}),
      );
    } else if (step.waitMs !== undefined) {
      await new Promise((resolve) => setTimeout(resolve, step.waitMs));
    } else {
      throw new PhonehomeError(
        'FLOW_INVALID',
        `${where} has no action; give it one of start, action, tap, type, key, waitMs`,
      );
    }
  }
}

/** The WebDriver locator for a selector. */
export function locator(selector: UiSelector): [using: string, value: string] {
  if (selector.id) return ['id', selector.id];
  if (selector.desc) return ['accessibility id', selector.desc];
  if (selector.text)
    return ['-android uiautomator', `new UiSelector().text(${JSON.stringify(selector.text)})`];
  if (selector.xpath) return ['xpath', selector.xpath];
  throw new PhonehomeError('FLOW_INVALID', 'a selector needs one of id, text, desc, xpath');
}

async function find(
  session: DriverSession,
  selector: UiSelector,
  where: string,
  timeoutMs: number,
): Promise<string> {
  if (!hasElements(session)) {
    throw new PhonehomeError(
      'STEP_UNSUPPORTED',
      `${where} taps an element, but this session has no element commands (it is not a WebDriver session); run it through \`phonehome run\`, which opens a UiAutomator2 session`,
    );
  }
  const [using, value] = locator(selector);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let answer: unknown;
    try {
      answer = await session.findElement(using, value);
    } catch {
      answer = undefined; // not on screen yet: the screen may still be changing
    }
    const id = (answer as Record<string, string> | undefined)?.[ELEMENT_KEY];
    if (id) return id;
    if (Date.now() >= deadline) {
      throw new PhonehomeError(
        'FLOW_ELEMENT_MISSING',
        `${where}: no element matches ${using} "${value}" within ${timeoutMs} ms; check the selector against the phone's screen (Appium Inspector shows ids and texts) and fix it in devices.json`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

function fill(text: string, variables: Record<string, string>): string {
  return text.replace(/\$\{(\w+)\}/g, (whole, name: string) => variables[name] ?? whole);
}
