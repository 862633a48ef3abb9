import * as versions from '../../src/microversion/versions';
import { Microversion } from '../../src/microversion/microversion';

describe('microversion gates', () => {
  const known = new Set(versions.VERSION_HISTORY.map(([version]) => version));
  const gates = Object.entries(versions).filter(([, value]) => typeof value === 'string');

  it.each(gates)('gate %s names a version we serve', (_name, value) => {
    expect(known.has(value as string)).toBe(true);
  });

  it('lists versions in order without gaps from 1.0 to 1.39', () => {
    versions.VERSION_HISTORY.forEach(([version], index) => expect(version).toBe(`1.${index}`));
  });

  it('compares numerically, not as text', () => {
    expect(Microversion.fromKnown('1.10').has('1.9')).toBe(true);
    expect(Microversion.fromKnown('1.9').has('1.10')).toBe(false);
    expect(Microversion.fromKnown('1.10').has('1.10')).toBe(true);
    expect(Microversion.fromKnown('1.2').has('1.10')).toBe(false);
  });
});
