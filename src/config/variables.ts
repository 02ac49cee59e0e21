import { PhonehomeError } from '../errors.ts';

const VARIABLE = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/**
 * Fills `${VAR}` in every string of a JSON value from the environment. devices.json keeps
 * credentials as `${BROWSERSTACK_KEY}`: the file can be committed, the secret stays in `.env`
 * or the CI's secret store. A variable that is not set is an error naming it and where it is used.
 *
 * Never print the result: it holds secrets. Print the template instead.
 *
 * @example
 *   fillVariables({ url: 'https://${USER}:${KEY}@hub/wd/hub' }, process.env, 'devices.json: $.devices[2]')
 */
export function fillVariables<T>(
  value: T,
  variables: Readonly<Record<string, string | undefined>>,
  where: string,
): T {
  const fill = (item: unknown, path: string): unknown => {
    if (typeof item === 'string') {
      return item.replace(VARIABLE, (_match, name: string) => {
        const found = variables[name];
        if (found === undefined || found === '') {
          throw new PhonehomeError(
            'DEVICES_VARIABLE_MISSING',
            `${where}${path} uses \${${name}}, which is not set; set ${name} in .env or in the environment (CI: a secret)`,
          );
        }
        return found;
      });
    }
    if (Array.isArray(item)) return item.map((entry, index) => fill(entry, `${path}[${index}]`));
    if (item && typeof item === 'object') {
      return Object.fromEntries(
        Object.entries(item).map(([key, entry]) => [key, fill(entry, `${path}.${key}`)]),
      );
    }
    return item;
  };
  return fill(value, '') as T;
}
