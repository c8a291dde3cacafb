import { cleanupArtifactsOp } from './cleanup-artifacts.ts';
import { deleteManifestOp } from './delete-manifest.ts';
import { deployManifestOp } from './deploy-manifest.ts';
import type { OpHandler } from './op-handler.ts';
import { patchManifestOp } from './patch-manifest.ts';
import {
  pauseRolloutManifestOp,
  resizeServerGroupOp,
  resumeRolloutManifestOp,
  rollingRestartManifestOp,
  scaleManifestOp,
  undoRolloutManifestOp,
} from './rollout-ops.ts';
import { runJobOp } from './run-job.ts';
import { disableManifestOp, enableManifestOp } from './traffic-ops.ts';

/** The operations this hub implements; /features/stages lists the same names. */
export const OPERATIONS: ReadonlyMap<string, OpHandler> = new Map(
  [
    deployManifestOp,
    deleteManifestOp,
    patchManifestOp,
    scaleManifestOp,
    undoRolloutManifestOp,
    pauseRolloutManifestOp,
    resumeRolloutManifestOp,
    rollingRestartManifestOp,
    enableManifestOp,
    disableManifestOp,
    runJobOp,
    cleanupArtifactsOp,
    resizeServerGroupOp,
  ].map((op) => [op.name, op]),
);
