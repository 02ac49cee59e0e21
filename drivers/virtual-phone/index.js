// Appium loads a driver with `import(main)`. The driver is TypeScript; registering tsx here lets a
// standalone `appium` server load it as well as phonehome's embedded one (where it is a no-op).
import { register } from 'tsx/esm/api';

register();
const { VirtualPhoneDriver } = await import('./lib/driver.ts');

export { VirtualPhoneDriver };
