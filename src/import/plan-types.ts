/** Rows to write into Emplace, in Emplace's terms. Classes and traits go by name; other ids are kept. */
export interface ImportPlan {
  /** Created in this order (Placement's id order), so listings ordered by id keep Placement's order. */
  customClasses: Array<{ name: string } & Stamps>;
  customTraits: Array<{ name: string } & Stamps>;
  /** Standard rows keep Placement's timestamps: Placement reports them as last-modified (a class, a provider's traits). */
  standardClassStamps: Array<{ name: string } & Stamps>;
  standardTraitStamps: Array<{ name: string } & Stamps>;
  /** Parents before children. */
  providers: Array<
    {
      id: number;
      uuid: string;
      name: string;
      generation: number;
      parent_provider_id: number | null;
      root_provider_id: number;
    } & Stamps
  >;
  inventories: Array<
    {
      id: number;
      resource_provider_id: number;
      resource_class: string;
      total: number;
      reserved: number;
      min_unit: number;
      max_unit: number;
      step_size: number;
      allocation_ratio: number;
    } & Stamps
  >;
  providerTraits: Array<{ resource_provider_id: number; trait: string }>;
  aggregates: Array<{ id: number; uuid: string }>;
  providerAggregates: Array<{ resource_provider_id: number; aggregate_id: number }>;
  projects: Array<{ id: number; external_id: string }>;
  users: Array<{ id: number; external_id: string }>;
  consumerTypes: Array<{ id: number; name: string }>;
  consumers: Array<
    {
      id: number;
      uuid: string;
      project_id: number;
      user_id: number;
      consumer_type_id: number | null;
      generation: number;
    } & Stamps
  >;
  allocations: Array<
    { id: number; resource_provider_id: number; consumer_id: number; resource_class: string; used: number } & Stamps
  >;
  notes: ImportNotes;
}

/** What the import had to decide, reported with the counts. */
export interface ImportNotes {
  revision: string;
  standardClasses: number;
  standardTraits: number;
  /** Providers whose root_provider_id was NULL (written before Stein); filled in as Placement's online migration does. */
  rootsFilled: number;
  /** Consumer records made for allocations that had none, as Placement's online migration does. */
  incompleteConsumers: number;
  /** uuids stored in another spelling (upper case, no dashes), written in canonical form. */
  uuidsCanonicalised: number;
  /** Aggregate rows with no uuid and no provider: invisible in Placement, not copied. */
  aggregatesSkipped: number;
  /** Standard classes and traits of a newer Placement that nothing uses: Emplace's catalogue lacks them. */
  unknownStandardSkipped: string[];
}

/** Emplace timestamps (timestamptz text); updated_at falls back to created_at as Placement's last-modified does. */
export interface Stamps {
  created_at: string;
  updated_at: string;
}

export interface PlanOptions {
  /** Emplace's standard catalogue: class names (index = id) and trait names. */
  standardClasses: readonly string[];
  standardTraits: readonly string[];
  /** Placement's [placement] incomplete_consumer_project_id / _user_id (Emplace's EMPLACE_INCOMPLETE_CONSUMER_*). */
  incompleteProjectId: string;
  incompleteUserId: string;
  /** Stamp for rows Placement kept no time for (ISO). */
  now: string;
}

/** The source holds something Emplace cannot represent; every problem says what and where. */
export class ImportRefused extends Error {
  constructor(readonly problems: string[]) {
    const shown = problems.slice(0, MAX_SHOWN);
    const more = problems.length - shown.length;
    super(
      `cannot import: ${problems.length} problem(s) in the Placement database:\n${shown.map((p) => `  - ${p}`).join('\n')}` +
        (more > 0 ? `\n  ... and ${more} more` : ''),
    );
  }
}

const MAX_SHOWN = 25;
