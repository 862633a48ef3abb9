import { httpErrorFromDatabase } from '../../src/errors/pg-errors';

describe('database errors no repo mapped', () => {
  const withCode = (code: string) => Object.assign(new Error('from postgres'), { code });

  it.each(['23503', '23505', '40001', '40P01'])(
    'SQLSTATE %s is a 409 to retry, with the concurrent-update code',
    (code) => {
      expect(httpErrorFromDatabase(withCode(code))).toMatchObject({ status: 409, code: 'placement.concurrent_update' });
    },
  );

  it.each(['22003', '22P02', '22021'])('SQLSTATE %s is a 400', (code) => {
    expect(httpErrorFromDatabase(withCode(code))?.status).toBe(400);
  });

  it('leaves anything else to become a 500', () => {
    expect(httpErrorFromDatabase(withCode('XX000'))).toBeUndefined();
    expect(httpErrorFromDatabase(new TypeError('a bug'))).toBeUndefined();
  });
});
