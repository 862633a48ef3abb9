import {
  CATALOGUE_SOURCES,
  CUSTOM_NAME_PATTERN,
  CUSTOM_PREFIX,
  STANDARD_RESOURCE_CLASSES,
  STANDARD_TRAITS,
  isStandardResourceClass,
  isStandardTrait,
} from '../../src/catalogue/catalogue';

describe('standard resource classes', () => {
  it('keeps the fixed upstream ids (index order)', () => {
    expect(STANDARD_RESOURCE_CLASSES[0]).toBe('VCPU');
    expect(STANDARD_RESOURCE_CLASSES[1]).toBe('MEMORY_MB');
    expect(STANDARD_RESOURCE_CLASSES[2]).toBe('DISK_GB');
    expect(STANDARD_RESOURCE_CLASSES.indexOf('PCPU')).toBe(14);
    expect(STANDARD_RESOURCE_CLASSES.indexOf('MEM_ENCRYPTION_CONTEXT')).toBe(15);
  });

  it.each(['VCPU', 'MEMORY_MB', 'DISK_GB', 'PCPU', 'MEM_ENCRYPTION_CONTEXT'])('includes %s', (name) => {
    expect(isStandardResourceClass(name)).toBe(true);
  });

  it('rejects unknown and custom names', () => {
    expect(isStandardResourceClass('CUSTOM_VCPU')).toBe(false);
    expect(isStandardResourceClass('vcpu')).toBe(false);
    expect(isStandardResourceClass('')).toBe(false);
  });
});

describe('standard traits', () => {
  it.each([
    'HW_CPU_X86_AMD_SEV',
    'HW_CPU_AMD_SEV',
    'HW_CPU_X86_AMD_SEV_ES',
    'HW_CPU_X86_AMD_SEV_SNP',
    'HW_CPU_X86_INTEL_TDX',
    'MISC_SHARES_VIA_AGGREGATE',
    'COMPUTE_STATUS_DISABLED',
  ])('includes %s', (name) => {
    expect(isStandardTrait(name)).toBe(true);
    expect(STANDARD_TRAITS).toContain(name);
  });

  it('rejects unknown and custom names', () => {
    expect(isStandardTrait('CUSTOM_HW_CPU_X86_AMD_SEV')).toBe(false);
    expect(isStandardTrait('HW_CPU_X86_AMD_SEV_XYZ')).toBe(false);
  });
});

describe.each([
  ['resource classes', STANDARD_RESOURCE_CLASSES],
  ['traits', STANDARD_TRAITS],
])('standard %s list', (_label, names) => {
  it('is non-empty and has no duplicates', () => {
    expect(names.length).toBeGreaterThan(0);
    expect(new Set(names).size).toBe(names.length);
  });

  it('contains only upper-case names outside the custom namespace', () => {
    for (const name of names) {
      expect(name).toMatch(/^[A-Z0-9_]+$/);
      expect(name.startsWith(CUSTOM_PREFIX)).toBe(false);
      expect(CUSTOM_NAME_PATTERN.test(name)).toBe(false);
    }
  });

  it('is read-only', () => {
    expect(Object.isFrozen(names)).toBe(true);
  });
});

describe('custom names', () => {
  it('matches valid custom names only', () => {
    expect(CUSTOM_NAME_PATTERN.test('CUSTOM_FOO_1')).toBe(true);
    expect(CUSTOM_NAME_PATTERN.test('CUSTOM_')).toBe(false);
    expect(CUSTOM_NAME_PATTERN.test('CUSTOM_foo')).toBe(false);
    expect(CUSTOM_NAME_PATTERN.test('FOO')).toBe(false);
  });
});

it('records the upstream sources', () => {
  expect(CATALOGUE_SOURCES.resourceClasses).toMatch(/^os-resource-classes \S+$/);
  expect(CATALOGUE_SOURCES.traits).toMatch(/^os-traits \S+$/);
});
