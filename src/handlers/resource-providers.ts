import { randomUUID } from 'node:crypto';
import type { Request, Response } from 'express';
import { listFromModel } from '../read-model/provider-listing';
import type { Schemas } from '../../api/types';
import {
  CREATE_PROVIDER_V1_0,
  CREATE_PROVIDER_V1_14,
  LIST_PROVIDERS_QUERY_V1_0,
  LIST_PROVIDERS_QUERY_V1_14,
  LIST_PROVIDERS_QUERY_V1_18,
  LIST_PROVIDERS_QUERY_V1_3,
  LIST_PROVIDERS_QUERY_V1_4,
  UPDATE_PROVIDER_V1_0,
  UPDATE_PROVIDER_V1_14,
} from '../../api/schemas/resource-providers';
import { withTransaction } from '../db/transaction';
import type { Tx } from '../db/knex';
import { DUPLICATE_NAME } from '../errors/codes';
import { ProviderChanged } from '../errors/domain';
import { badRequest, conflict } from '../errors/http-error';
import { PARENT_DOES_NOT_EXIST, conflictingProvider } from '../errors/messages';
import { inWords } from '../http/domain-errors';
import { underPrefix } from '../http/paths';
import { getAll, queryForValidation } from '../http/query';
import { newest, sendJson, sendNoContent } from '../http/respond';
import {
  AGGREGATES,
  CREATE_PROVIDER_RETURNS_BODY,
  MIN_VERSION,
  NESTED_PROVIDERS,
  PROVIDER_ALLOCATIONS_LINK,
  PROVIDER_MEMBER_OF,
  PROVIDER_REQUIRED_TRAITS,
  PROVIDER_RESOURCES_FILTER,
  REPARENTING,
  TRAITS,
} from '../microversion/versions';
import { parseProviderListQuery, type ListQuery } from '../provider-query/request-groups';
import { resolveProviderList } from '../provider-query/resolve';
import { PROVIDER_LIST_WORDING } from '../provider-query/wording';
import {
  deleteProvider,
  findProviderView,
  insertProvider,
  lockProvider,
  lockRoots,
  providerIds,
  subtreeIds,
  updateProvider,
  type ProviderChange,
  type ProviderView,
} from '../repo/providers';
import { findProviderByUuid } from '../repo/providers-core';
import { providerFromPath, providerNotFound } from './provider-path';
import { schemasByVersion, validateBody, validateQuery } from '../validation/validator';
import { canonicalUuid } from '../validation/validator';

const createSchema = schemasByVersion<CreateBody>([
  [MIN_VERSION, CREATE_PROVIDER_V1_0],
  [NESTED_PROVIDERS, CREATE_PROVIDER_V1_14],
]);
const updateSchema = schemasByVersion<UpdateBody>([
  [MIN_VERSION, UPDATE_PROVIDER_V1_0],
  [NESTED_PROVIDERS, UPDATE_PROVIDER_V1_14],
]);
const listQuerySchema = schemasByVersion<ListQuery>([
  [MIN_VERSION, LIST_PROVIDERS_QUERY_V1_0],
  [PROVIDER_MEMBER_OF, LIST_PROVIDERS_QUERY_V1_3],
  [PROVIDER_RESOURCES_FILTER, LIST_PROVIDERS_QUERY_V1_4],
  [NESTED_PROVIDERS, LIST_PROVIDERS_QUERY_V1_14],
  [PROVIDER_REQUIRED_TRAITS, LIST_PROVIDERS_QUERY_V1_18],
]);

type CreateBody = Schemas['CreateResourceProvider'];
type UpdateBody = Schemas['UpdateResourceProvider'];

/** GET /resource_providers */
export async function listResourceProviders(req: Request, res: Response): Promise<void> {
  const query = validateQuery(listQuerySchema(req.mv), queryForValidation(req));
  const parsed = parseProviderListQuery(
    query,
    { memberOf: getAll(req, 'member_of'), required: getAll(req, 'required') },
    req.mv,
  );
  const view = await req.deps.readModel.current();
  const filter = await inWords(PROVIDER_LIST_WORDING, async () => resolveProviderList(view, parsed));
  const providers = filter ? listFromModel(view, filter) : [];
  const body: Schemas['ResourceProviderList'] = { resource_providers: providers.map((p) => serializeProvider(req, p)) };
  sendJson(req, res, 200, body, newest(providers.map((p) => p.modifiedAt)));
}

/** POST /resource_providers: 201 and Location before 1.20; 200 with the provider from 1.20. */
export async function createResourceProvider(req: Request, res: Response): Promise<void> {
  const body = validateBody(createSchema(req.mv), req.json);
  const uuid = body.uuid ? canonicalUuid(body.uuid) : randomUUID();
  const fail = (reason: string) =>
    badRequest(
      `Unable to create resource provider "${body.name}", ${uuid}: Object action create failed because: ${reason}`,
    );
  if (!body.name) throw fail('name is required');
  const provider = await withTransaction(req.deps.db, async (tx) => {
    let parent: { id: number; root_provider_id: number } | undefined;
    if (body.parent_provider_uuid != null) {
      const parentUuid = canonicalUuid(body.parent_provider_uuid);
      if (parentUuid === uuid) {
        throw fail(
          'parent provider UUID cannot be same as UUID. Please set parent provider UUID to None if there is no parent.',
        );
      }
      parent = await providerIds(tx, parentUuid, { lock: true });
      if (!parent) throw fail(PARENT_DOES_NOT_EXIST);
    }
    const values = { uuid, name: body.name };
    await inWords(
      {
        MissingParent: () => fail(PARENT_DOES_NOT_EXIST),
        DuplicateName: (e) =>
          conflict(
            conflictingProvider(e.fields.map((field) => `${field}: ${values[field]}`).join(', ')),
            DUPLICATE_NAME,
          ),
      },
      () => insertProvider(tx, { uuid, name: body.name, parent }),
    );
    return (await findProviderView(tx, uuid)) as ProviderView;
  });
  res.location(underPrefix(req, providerUrl(provider.uuid)));
  if (!req.mv.has(CREATE_PROVIDER_RETURNS_BODY)) {
    res.status(201).end();
    return;
  }
  sendJson(req, res, 200, serializeProvider(req, provider), modifiedAt(provider));
}

/** GET /resource_providers/{uuid} */
export async function getResourceProvider(req: Request, res: Response): Promise<void> {
  const provider = await findProviderView(req.deps.db, pathUuid(req));
  if (!provider) throw providerNotFound(pathUuid(req));
  sendJson(req, res, 200, serializeProvider(req, provider), modifiedAt(provider));
}

/** PUT /resource_providers/{uuid}: rename and, from 1.14, (re-)parent. */
export async function updateResourceProvider(req: Request, res: Response): Promise<void> {
  const uuid = pathUuid(req);
  // Placement looks the provider up before it reads the body: 404 wins over 400.
  await providerFromPath(req.deps.db, uuid);
  const body = validateBody(updateSchema(req.mv), req.json);
  const provider = await withTransaction(req.deps.db, async (tx) => {
    const change = await planChange(tx, uuid, body, req.mv.has(REPARENTING));
    await inWords({ MissingParent: () => saveFailed(uuid, 'update', PARENT_DOES_NOT_EXIST) }, () =>
      updateProvider(tx, change.id, change),
    );
    return (await findProviderView(tx, uuid)) as ProviderView;
  });
  sendJson(req, res, 200, serializeProvider(req, provider), modifiedAt(provider));
}

function saveFailed(uuid: string, action: 'create' | 'update', reason: string) {
  return badRequest(`Unable to save resource provider ${uuid}: Object action ${action} failed because: ${reason}`);
}

/**
 * Work out what a PUT changes, with Placement's rules: a root may gain a parent at any version; changing
 * or dropping an existing parent needs 1.37; nobody may become their own descendant. The rules are checked
 * on rows read under lock (see lockTrees), so concurrent moves cannot build a loop between them.
 */
async function planChange(
  tx: Tx,
  uuid: string,
  body: UpdateBody,
  allowReparenting: boolean,
): Promise<ProviderChange & { id: number }> {
  const parentUuid = body.parent_provider_uuid == null ? null : canonicalUuid(body.parent_provider_uuid);
  const trees = await lockTrees(tx, uuid, body.parent_provider_uuid === undefined ? undefined : parentUuid);
  const { provider, parent } = trees;
  const plan: ProviderChange & { id: number } = { id: provider.id, name: body.name };
  if (body.parent_provider_uuid === undefined) return plan;
  if (parentUuid === null) {
    if (provider.parent_provider_id === null) return plan;
    if (!allowReparenting) throw saveFailed(uuid, 'update', 'un-parenting a provider is not currently allowed.');
    plan.reparent = { parentId: null, rootId: provider.id, subtree: await subtreeIds(tx, provider.id) };
    return plan;
  }
  // Placement's wording says "create" here, whatever the action.
  if (!parent) throw saveFailed(uuid, 'create', PARENT_DOES_NOT_EXIST);
  if (provider.parent_provider_id === parent.id) return plan;
  if (provider.parent_provider_id !== null && !allowReparenting) {
    throw saveFailed(uuid, 'update', 're-parenting a provider is not currently allowed.');
  }
  const subtree = await subtreeIds(tx, provider.id);
  if (subtree.includes(parent.id))
    throw saveFailed(uuid, 'update', 'creating loop in the provider tree is not allowed.');
  plan.reparent = { parentId: parent.id, rootId: parent.root_provider_id, subtree };
  return plan;
}

/**
 * Read the provider (and the wanted parent) and, when the parent is being set, lock the roots of both
 * trees in id order. A concurrent move may change a root while we wait, so read again under the lock and
 * start over if the roots moved; give up with a generation-style conflict if it keeps happening.
 */
async function lockTrees(tx: Tx, uuid: string, parentUuid: string | null | undefined) {
  for (let attempt = 0; attempt < 5; attempt++) {
    const provider = await findProviderByUuid(tx, uuid);
    if (!provider) throw providerNotFound(uuid);
    const parent = parentUuid ? await providerIds(tx, parentUuid) : undefined;
    if (parentUuid === undefined) return { provider, parent };
    await lockRoots(tx, [provider.root_provider_id, ...(parent ? [parent.root_provider_id] : [])]);
    const lockedSelf = await lockProvider(tx, provider.id);
    const lockedParent = parentUuid ? await providerIds(tx, parentUuid) : undefined;
    if (!lockedSelf) throw providerNotFound(uuid);
    if (
      lockedSelf.root_provider_id === provider.root_provider_id &&
      lockedParent?.root_provider_id === parent?.root_provider_id
    ) {
      return { provider: lockedSelf, parent: lockedParent };
    }
  }
  throw new ProviderChanged();
}

/** DELETE /resource_providers/{uuid}: refused while it has children or allocations. */
export async function deleteResourceProvider(req: Request, res: Response): Promise<void> {
  const uuid = pathUuid(req);
  await withTransaction(req.deps.db, async (tx) => {
    const provider = await providerFromPath(tx, uuid, 'for delete');
    if (!(await lockProvider(tx, provider.id))) throw providerNotFound(uuid, 'for delete');
    await deleteProvider(tx, provider.id, uuid);
  });
  sendNoContent(res);
}

/** The `{uuid}` path segment; the route table always sets it as a single string. */
function pathUuid(req: Request): string {
  return String(req.params.uuid);
}

function providerUrl(uuid: string): string {
  return `/resource_providers/${uuid}`;
}

function serializeProvider(
  req: Request,
  provider: Pick<ProviderView, 'uuid' | 'name' | 'generation' | 'parent_provider_uuid' | 'root_provider_uuid'>,
): Schemas['ResourceProvider'] {
  const data: Schemas['ResourceProvider'] = {
    uuid: provider.uuid,
    name: provider.name,
    generation: provider.generation,
    links: providerLinks(req, provider.uuid),
  };
  if (req.mv.has(NESTED_PROVIDERS)) {
    data.parent_provider_uuid = provider.parent_provider_uuid;
    data.root_provider_uuid = provider.root_provider_uuid;
  }
  return data;
}

function providerLinks(req: Request, uuid: string): Schemas['Link'][] {
  const { mv } = req;
  const url = underPrefix(req, providerUrl(uuid));
  const rels = ['inventories', 'usages'];
  if (mv.has(AGGREGATES)) rels.push('aggregates');
  if (mv.has(TRAITS)) rels.push('traits');
  if (mv.has(PROVIDER_ALLOCATIONS_LINK)) rels.push('allocations');
  return [{ rel: 'self', href: url }, ...rels.map((rel) => ({ rel, href: `${url}/${rel}` }))];
}

function modifiedAt(provider: ProviderView): Date {
  return provider.updated_at ?? provider.created_at;
}
