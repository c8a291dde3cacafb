import { deleteManifestOp } from './delete-manifest.ts';
import { deployManifestOp } from './deploy-manifest.ts';
import type { OpHandler } from './op-handler.ts';

/** The operations this hub implements; /features/stages lists the same names. */
export const OPERATIONS: ReadonlyMap<string, OpHandler> = new Map([deployManifestOp, deleteManifestOp].map((op) => [op.name, op]));
