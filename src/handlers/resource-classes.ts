import type { Request, Response } from 'express';
import { resourceClassNameSchema } from '../../api/schemas/resource-classes';
import { withTransaction } from '../db/transaction';
import { conflict, notFound } from '../errors/http-error';
import { noSuchResourceClass } from '../errors/messages';
import { inWords, type Wording } from '../http/domain-errors';
import { absoluteUrl, pathParam, segment, underPrefix } from '../http/paths';
import { newest, sendJson } from '../http/respond';
import { RESOURCE_CLASS_PUT_CREATES } from '../microversion/versions';
import {
  deleteResourceClass as deleteResourceClassRow,
  ensureResourceClass,
  listResourceClasses as listResourceClassRows,
  renameResourceClass,
  requireResourceClass,
  type ResourceClassRow,
} from '../repo/resource-classes';
import { compileSchema, validateBody } from '../validation/validator';

const validateName = compileSchema<{ name: string }>(resourceClassNameSchema);

/** On /resource_classes/{name} an unknown class is the resource itself missing: 404. */
const RESOURCE_CLASS_WORDING: Wording = { UnknownResourceClass: (e) => notFound(noSuchResourceClass(e.className)) };

const classPath = (name: string) => `/resource_classes/${segment(name)}`;

function serialize(req: Request, rc: ResourceClassRow) {
  return { name: rc.name, links: [{ rel: 'self', href: underPrefix(req, classPath(rc.name)) }] };
}

/**
 * Standard classes are rows too (since Stein), so their last-modified is when they were synced, as
 * Placement's pick_last_modified gives it; its comment saying "utcnow" predates those rows.
 */
function lastModified(rc: ResourceClassRow): Date | null {
  return rc.updated_at ?? rc.created_at;
}

/** GET /resource_classes (1.2) */
export async function listResourceClasses(req: Request, res: Response): Promise<void> {
  const classes = await listResourceClassRows(req.deps.db);
  sendJson(
    req,
    res,
    200,
    { resource_classes: classes.map((rc) => serialize(req, rc)) },
    newest(classes.map(lastModified)),
  );
}

/** GET /resource_classes/{name} (1.2) */
export async function getResourceClass(req: Request, res: Response): Promise<void> {
  const rc = await inWords(RESOURCE_CLASS_WORDING, () => requireResourceClass(req.deps.db, pathParam(req, 'name')));
  sendJson(req, res, 200, serialize(req, rc), lastModified(rc));
}

/** POST /resource_classes (1.2): create a CUSTOM_ class; 409 when the name is taken. */
export async function createResourceClass(req: Request, res: Response): Promise<void> {
  const { name } = validateBody(validateName, req.json);
  const { created } = await withTransaction(req.deps.db, (tx) => ensureResourceClass(tx, name));
  if (!created) throw conflict(`Conflicting resource class already exists: ${name}`);
  res.setHeader('location', absoluteUrl(req, classPath(name)));
  res.status(201).end();
}

/**
 * PUT /resource_classes/{name}: before 1.7 renames a custom class to the body's name (200 with the
 * class); from 1.7 it is bodiless and creates the class (201) or confirms it exists (204).
 */
export async function updateResourceClass(req: Request, res: Response): Promise<void> {
  const name = pathParam(req, 'name');
  if (!req.mv.has(RESOURCE_CLASS_PUT_CREATES)) {
    const { name: newName } = validateBody(validateName, req.json);
    const renamed = await inWords(RESOURCE_CLASS_WORDING, () =>
      withTransaction(req.deps.db, (tx) => renameResourceClass(tx, name, newName)),
    );
    sendJson(req, res, 200, serialize(req, renamed));
    return;
  }
  // Placement validates the path name with the body schema, so failures read "JSON does not validate".
  validateBody(validateName, { name });
  const { rc, created } = await withTransaction(req.deps.db, (tx) => ensureResourceClass(tx, name));
  res.setHeader('location', absoluteUrl(req, classPath(rc.name)));
  res.status(created ? 201 : 204).end();
}

/** DELETE /resource_classes/{name} (1.2) */
export async function deleteResourceClass(req: Request, res: Response): Promise<void> {
  await inWords(RESOURCE_CLASS_WORDING, () =>
    withTransaction(req.deps.db, (tx) => deleteResourceClassRow(tx, pathParam(req, 'name'))),
  );
  res.status(204).end();
}
