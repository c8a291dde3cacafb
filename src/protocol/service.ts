import { create, fromBinary, toBinary, type DescMessage, type MessageShape } from '@bufbuild/protobuf';
import { makeGenericClientConstructor, type ServiceDefinition, type MethodDefinition } from '@grpc/grpc-js';
import {
  AgentMessageSchema,
  HubMessageSchema,
  SharedSyncRequestSchema,
  SharedSyncResponseSchema,
  SyncRequestSchema,
  SyncResponseSchema,
  type AgentMessage,
  type HubMessage,
  type SharedSyncRequest,
  type SharedSyncResponse,
  type SyncRequest,
  type SyncResponse,
} from './gen/scaleagent/v1/agent_hub_pb.ts';
import { decodeSharedSyncRequest } from './shared-sync-codec.ts';
import { decodeSyncRequest } from './sync-request-decoder.ts';

/** Fully-qualified service name, as in proto/scaleagent/v1/agent_hub.proto. */
export const SERVICE_NAME = 'scaleagent.v1.AgentHub';

/**
 * A message whose wire bytes were produced elsewhere (the agent's batch encoder writes ChangeBatches
 * straight into one buffer): the serialiser sends them as they are instead of running toBinary.
 */
const PRE_ENCODED = Symbol('scaleagent.preEncoded');

/** Wraps wire bytes of a `schema` message so that a stream of that type sends them unchanged. */
export function preEncoded<Desc extends DescMessage>(schema: Desc, bytes: Uint8Array): MessageShape<Desc> {
  return Object.assign(create(schema), { [PRE_ENCODED]: bytes });
}

/** toBinary without the copy `Buffer.from(Uint8Array)` would make: grpc-js takes the bytes as they are. */
export function wireBytes<Desc extends DescMessage>(schema: Desc, message: MessageShape<Desc>): Buffer {
  const given = (message as { [PRE_ENCODED]?: Uint8Array })[PRE_ENCODED];
  const bytes = given ?? toBinary(schema, message);
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function bidi<Req extends DescMessage, Res extends DescMessage>(
  method: string,
  request: Req,
  response: Res,
  /** A hand-written decoder for the request messages (the same result as fromBinary, faster). */
  decodeRequest?: (bytes: Uint8Array) => MessageShape<Req>,
): MethodDefinition<MessageShape<Req>, MessageShape<Res>> {
  return {
    path: `/${SERVICE_NAME}/${method}`,
    requestStream: true,
    responseStream: true,
    requestSerialize: (message) => wireBytes(request, message),
    requestDeserialize: decodeRequest ?? ((bytes) => fromBinary(request, bytes)),
    responseSerialize: (message) => wireBytes(response, message),
    responseDeserialize: (bytes) => fromBinary(response, bytes),
  };
}

export interface AgentHubDefinition extends ServiceDefinition {
  Session: MethodDefinition<AgentMessage, HubMessage>;
  Sync: MethodDefinition<SyncRequest, SyncResponse>;
  SharedSync: MethodDefinition<SharedSyncRequest, SharedSyncResponse>;
}

/** The grpc-js definition of the AgentHub service, with protobuf-es (de)serialisers. */
export const agentHubDefinition: AgentHubDefinition = {
  Session: bidi('Session', AgentMessageSchema, HubMessageSchema),
  // Every change the hub stores arrives as a SyncRequest: decoded by sync-request-decoder.ts.
  Sync: bidi('Sync', SyncRequestSchema, SyncResponseSchema, decodeSyncRequest),
  // Protocol version 2: every account's batches, wrapped by shared-sync-codec.ts.
  SharedSync: bidi('SharedSync', SharedSyncRequestSchema, SharedSyncResponseSchema, decodeSharedSyncRequest),
};

/**
 * The definition the hub serves: Session messages arrive as their wire bytes, so that the hub decodes
 * them only after it has authenticated the peer and checked what decoding would cost
 * (message-budget.ts). Clients use agentHubDefinition.
 */
export const agentHubServerDefinition = {
  ...agentHubDefinition,
  Session: { ...agentHubDefinition.Session, requestDeserialize: (bytes: Buffer): Buffer => bytes } as unknown as MethodDefinition<Buffer, HubMessage>,
} satisfies ServiceDefinition;

/** A grpc-js client class for AgentHub (methods `Session()`, `Sync()` and `SharedSync()` return duplex streams). */
export const AgentHubClient = makeGenericClientConstructor(agentHubDefinition, 'AgentHub');

export { create };
