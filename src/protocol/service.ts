import { create, fromBinary, toBinary, type DescMessage, type MessageShape } from '@bufbuild/protobuf';
import { makeGenericClientConstructor, type ServiceDefinition, type MethodDefinition } from '@grpc/grpc-js';
import {
  AgentMessageSchema,
  HubMessageSchema,
  SyncRequestSchema,
  SyncResponseSchema,
  type AgentMessage,
  type HubMessage,
  type SyncRequest,
  type SyncResponse,
} from './gen/scaleagent/v1/agent_hub_pb.ts';

/** Fully-qualified service name, as in proto/scaleagent/v1/agent_hub.proto. */
export const SERVICE_NAME = 'scaleagent.v1.AgentHub';

function bidi<Req extends DescMessage, Res extends DescMessage>(
  method: string,
  request: Req,
  response: Res,
): MethodDefinition<MessageShape<Req>, MessageShape<Res>> {
  return {
    path: `/${SERVICE_NAME}/${method}`,
    requestStream: true,
    responseStream: true,
    requestSerialize: (message) => Buffer.from(toBinary(request, message)),
    requestDeserialize: (bytes) => fromBinary(request, bytes),
    responseSerialize: (message) => Buffer.from(toBinary(response, message)),
    responseDeserialize: (bytes) => fromBinary(response, bytes),
  };
}

export interface AgentHubDefinition extends ServiceDefinition {
  Session: MethodDefinition<AgentMessage, HubMessage>;
  Sync: MethodDefinition<SyncRequest, SyncResponse>;
}

/** The grpc-js definition of the AgentHub service, with protobuf-es (de)serialisers. */
export const agentHubDefinition: AgentHubDefinition = {
  Session: bidi('Session', AgentMessageSchema, HubMessageSchema),
  Sync: bidi('Sync', SyncRequestSchema, SyncResponseSchema),
};

/** A grpc-js client class for AgentHub (methods `Session()` and `Sync()` return duplex streams). */
export const AgentHubClient = makeGenericClientConstructor(agentHubDefinition, 'AgentHub');

export { create };
