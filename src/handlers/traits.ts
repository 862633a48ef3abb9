import type { Request, Response } from 'express';
import { customTraitSchema, listTraitsQuerySchema, setProviderTraitsSchema } from '../../api/schemas/traits';
import { withTransaction } from '../db/transaction';
import { CONCURRENT_UPDATE } from '../errors/codes';
import { badRequest, conflict, notFound } from '../errors/http-error';
import { CONCURRENT_UPDATE_DATA, noSuchTraits, providerGenerationChanged } from '../errors/messages';
import { inWords, type Wording } from '../http/domain-errors';
import { absoluteUrl, pathParam, segment } from '../http/paths';
import { refuse, uuidParam, type PathParams } from '../http/path-params';
import { queryForValidation } from '../http/query';
import { newest, sendJson, sendNoContent, setCacheHeaders } from '../http/respond';
import { traitIds } from '../repo/names';
import { bumpProviderGeneration } from '../repo/providers-core';
import {
  deleteTrait as deleteTraitRow,
  ensureTrait,
  findTrait,
  listTraits as listTraitRows,
  providerTraits,
  replaceProviderTraits,
  type TraitFilters,
  type TraitRow,
} from '../repo/traits';
import { compileSchema, validateBody, validateQuery } from '../validation/validator';
import { providerFromPath, providerNotFound } from './provider-path';

interface SetProviderTraitsBody {
  traits: string[];
  resource_provider_generation: number;
}

const isCustomTrait = compileSchema<string>(customTraitSchema);
const validateSetProviderTraits = compileSchema<SetProviderTraitsBody>(setProviderTraitsSchema);
const validateListQuery = compileSchema<{ name?: string; associated?: string }>(listTraitsQuerySchema);

/** Placement's trait handlers: an unknown trait on /traits/{name} is a 404. */
const TRAITS_WORDING: Wording = { UnknownTrait: (e) => notFound(noSuchTraits(e.names)) };
/** DELETE /resource_providers/{uuid}/traits words a lost race as ConcurrentUpdateDetected. */
const TRAITS_DELETE_WORDING: Wording = { ProviderChanged: () => conflict(CONCURRENT_UPDATE_DATA, CONCURRENT_UPDATE) };

/** Newest trait timestamp, or now when there are none (Placement's _serialize_traits). */
function traitsLastModified(traits: TraitRow[]): Date | null {
  return newest(traits.map((trait) => trait.updated_at ?? trait.created_at));
}

/** `name=in:A,B` or `name=startswith:P`; any other operator filters nothing, as in Placement. */
function nameFilter(value: string): TraitFilters {
  const colon = value.indexOf(':');
  if (colon < 0) {
    throw badRequest(
      'Badly formatted name parameter. Expected name query string parameter in form: ' +
        `?name=[in|startswith]:[name1,name2|prefix]. Got: "${value}"`,
    );
  }
  const [op, operand] = [value.slice(0, colon), value.slice(colon + 1)];
  if (op === 'in') return { nameIn: operand.split(',') };
  if (op === 'startswith') return { prefix: operand };
  return {};
}

function associatedFilter(value: string): boolean {
  const lowered = value.toLowerCase();
  if (lowered !== 'true' && lowered !== 'false')
    throw badRequest('The query parameter "associated" only accepts "true" or "false"');
  return lowered === 'true';
}

/** GET /traits (1.6) */
export async function listTraits(req: Request, res: Response): Promise<void> {
  const query = validateQuery(validateListQuery, queryForValidation(req));
  const filters: TraitFilters = query.name !== undefined ? nameFilter(query.name) : {};
  if (query.associated !== undefined) filters.associated = associatedFilter(query.associated);
  const traits = await listTraitRows(req.deps.db, filters);
  sendJson(req, res, 200, { traits: traits.map((trait) => trait.name) }, traitsLastModified(traits));
}

/** GET /traits/{name} (1.6): 204 when it exists. */
export async function getTrait(req: Request, res: Response): Promise<void> {
  const name = pathParam(req, 'name');
  const trait = await findTrait(req.deps.db, name);
  if (!trait) throw notFound(noSuchTraits([name]));
  setCacheHeaders(req, res, trait.created_at);
  sendNoContent(res);
}

/**
 * PUT's `{name}` must be a custom trait's; the other methods take any name, as one that is not a trait's
 * simply names none (a 404).
 */
export const CUSTOM_TRAIT_NAME: PathParams = {
  name: {
    accepts: (name) => isCustomTrait(name),
    malformed: refuse(() =>
      badRequest(
        'The trait is invalid. A valid trait must be no longer than 255 characters, start with the prefix "CUSTOM_" and use ' +
          'following characters: "A"-"Z", "0"-"9" and "_"',
      ),
    ),
  },
};

/** PUT /traits/{name} (1.6): create a custom trait, 201, or confirm it exists, 204. */
export async function putTrait(req: Request, res: Response): Promise<void> {
  const name = pathParam(req, 'name');
  const { trait, created } = await withTransaction(req.deps.db, (tx) => ensureTrait(tx, name));
  res.setHeader('location', absoluteUrl(req, `/traits/${segment(trait.name)}`));
  setCacheHeaders(req, res, trait.created_at ?? new Date());
  res.status(created ? 201 : 204).end();
}

/** DELETE /traits/{name} (1.6) */
export async function deleteTrait(req: Request, res: Response): Promise<void> {
  const name = pathParam(req, 'name');
  await inWords(TRAITS_WORDING, () => withTransaction(req.deps.db, (tx) => deleteTraitRow(tx, name)));
  sendNoContent(res);
}

/** GET /resource_providers/{uuid}/traits (1.6) */
export async function listTraitsForResourceProvider(req: Request, res: Response): Promise<void> {
  const uuid = pathParam(req, 'uuid');
  const { db } = req.deps;
  const provider = await providerFromPath(db, uuid, 'repeat after colon');
  const traits = await providerTraits(db, provider.id);
  const body = { traits: traits.map((trait) => trait.name), resource_provider_generation: provider.generation };
  sendJson(req, res, 200, body, traitsLastModified(traits));
}

/** Whether the provider's traits are exactly `wanted` (ids, in any order, repeats ignored). */
function sameIds(current: TraitRow[], wanted: number[]): boolean {
  const want = new Set(wanted);
  return current.length === want.size && current.every((trait) => want.has(trait.id));
}

/** Placement reads this body before it looks the provider up: a bad body wins over a `{uuid}` that is no uuid. */
export const PROVIDER_FOR_TRAITS_UPDATE: PathParams = {
  uuid: uuidParam(async (req, _res, uuid) => {
    validateBody(validateSetProviderTraits, req.json);
    throw providerNotFound(uuid);
  }),
};

/** PUT /resource_providers/{uuid}/traits (1.6): replace the provider's traits; every trait must exist. */
export async function updateTraitsForResourceProvider(req: Request, res: Response): Promise<void> {
  const uuid = pathParam(req, 'uuid');
  const body = validateBody(validateSetProviderTraits, req.json);
  const [generation, traits] = await withTransaction(req.deps.db, async (tx) => {
    const provider = await providerFromPath(tx, uuid);
    if (provider.generation !== body.resource_provider_generation) {
      throw conflict(providerGenerationChanged, CONCURRENT_UPDATE);
    }
    const ids = await traitIds(tx, body.traits, { lock: true });
    const unknown = [...new Set(body.traits.filter((name) => !ids.has(name)))];
    if (unknown.length > 0) throw badRequest(`No such trait ${unknown.join(', ')}`);
    const current = await providerTraits(tx, provider.id);
    // Placement's set_traits changes nothing, generation included, when the set is already the wanted one.
    if (sameIds(current, [...ids.values()])) return [provider.generation, current] as const;
    const next = await bumpProviderGeneration(tx, provider.id, provider.generation);
    await replaceProviderTraits(tx, provider.id, [...ids.values()]);
    return [next, await providerTraits(tx, provider.id)] as const;
  });
  sendJson(
    req,
    res,
    200,
    { traits: traits.map((trait) => trait.name), resource_provider_generation: generation },
    traitsLastModified(traits),
  );
}

/** DELETE /resource_providers/{uuid}/traits (1.6): remove every trait, bumping the generation if there were any. */
export async function deleteTraitsForResourceProvider(req: Request, res: Response): Promise<void> {
  const uuid = pathParam(req, 'uuid');
  await inWords(TRAITS_DELETE_WORDING, () =>
    withTransaction(req.deps.db, async (tx) => {
      const provider = await providerFromPath(tx, uuid);
      if ((await providerTraits(tx, provider.id)).length === 0) return;
      await bumpProviderGeneration(tx, provider.id, provider.generation);
      await replaceProviderTraits(tx, provider.id, []);
    }),
  );
  sendNoContent(res);
}
