import fs from 'node:fs';
import path from 'node:path';
import { ROUTES } from '../../src/routes';

/** Path -> methods as openapi.yaml describes them (read from the generated types, which CI keeps fresh). */
function documentedOperations(): Map<string, string[]> {
  const generated = fs.readFileSync(path.resolve(__dirname, '../../api/generated/placement.ts'), 'utf8');
  const pathsBlock = generated.split('export interface paths {')[1].split('export type webhooks')[0];
  const operations = new Map<string, string[]>();
  for (const [, route, body] of pathsBlock.matchAll(/"(\/[^"]*)": \{([\s\S]*?)\n {4}\};/g)) {
    const methods = [...body.matchAll(/^ {8}(get|put|post|delete|patch): operations/gm)].map(([, method]) =>
      method.toUpperCase(),
    );
    operations.set(route, methods.sort());
  }
  return operations;
}

describe('openapi.yaml and the route table', () => {
  const documented = documentedOperations();
  const served = new Map(Object.entries(ROUTES).map(([route, methods]) => [route, Object.keys(methods).sort()]));

  it('document exactly the paths the service answers', () => {
    expect([...documented.keys()].sort()).toEqual([...served.keys()].sort());
  });

  it.each([...served.entries()])('document every method of %s', (route, methods) => {
    expect(documented.get(route)).toEqual(methods);
  });
});
