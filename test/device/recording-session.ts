import type { DriverSession } from '../../src/device/device.ts';

/**
 * The phone side of a UiAutomator2 WebDriver session, for the android kind's tests: no phone or
 * emulator can run here, so `mobile:` commands and element calls are recorded, with answers
 * given per command. Everything the device does over adb still goes through the fake adb.
 */
export class RecordingSession implements DriverSession {
  readonly calls: string[] = [];
  private readonly answers: Record<string, unknown>;

  constructor(answers: Record<string, unknown> = {}) {
    this.answers = answers;
  }

  async execute(script: string, ...args: unknown[]): Promise<unknown> {
    this.calls.push(`${script} ${JSON.stringify(args[0] ?? {})}`);
    return this.answers[script];
  }

  async findElement(using: string, value: string): Promise<unknown> {
    this.calls.push(`find ${using} ${value}`);
    return { 'element-6066-11e4-a52f-4a4f4e4f4e54': `el-${this.calls.length}` };
  }

  async elementClick(id: string): Promise<void> {
    this.calls.push(`click ${id}`);
  }

  async elementSendKeys(id: string, text: string): Promise<void> {
    this.calls.push(`type ${id} ${text}`);
  }
}
