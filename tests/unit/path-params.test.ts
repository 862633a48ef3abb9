import { ROUTES } from '../../src/routes';

/** Segments that name a row by uuid: a repo given one that is no uuid would fail PostgreSQL's cast (a 500). */
const UUID_SEGMENTS = ['uuid', 'consumer_uuid'];

describe('path parameters', () => {
  const declared = Object.entries(ROUTES).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, route]) => ({ path, method, route: route! })),
  );

  it('every method of a route with a uuid segment declares how a malformed one is answered', () => {
    const missing = declared
      .filter(({ path }) => UUID_SEGMENTS.some((name) => path.includes(`{${name}}`)))
      .filter(({ path, route }) => UUID_SEGMENTS.some((name) => path.includes(`{${name}}`) && !route.params?.[name]))
      .map(({ path, method }) => `${method} ${path}`);
    expect(missing).toEqual([]);
  });

  it('declares only segments its path has', () => {
    const stray = declared.flatMap(({ path, method, route }) =>
      Object.keys(route.params ?? {})
        .filter((name) => !path.includes(`{${name}}`))
        .map((name) => `${method} ${path} {${name}}`),
    );
    expect(stray).toEqual([]);
  });

  it('accepts the spellings Placement does and nothing else', () => {
    const param = ROUTES['/resource_providers/{uuid}'].GET!.params!.uuid;
    const uuid = '3f6c0d55-5a8e-4b59-a0b5-6d3f1c2b9e71';
    for (const spelling of [uuid, uuid.toUpperCase(), uuid.replace(/-/g, '')])
      expect(param.accepts(spelling)).toBe(true);
    for (const spelling of ['', 'x', `{${uuid}}`, `urn:uuid:${uuid}`, '-'.repeat(36)])
      expect(param.accepts(spelling)).toBe(false);
  });
});
