export * from './gen/scaleagent/v1/agent_hub_pb.ts';
export { agentHubDefinition, agentHubServerDefinition, AgentHubClient, SERVICE_NAME, preEncoded, wireBytes, type AgentHubDefinition } from './service.ts';
export { checkMessageBudget, type MessageBudget } from './message-budget.ts';
export { MIN_PROTOCOL_VERSION, negotiatedProtocolVersion, PROTOCOL_VERSION, SCALE_AGENT_VERSION, type ProtocolVersion } from './version.ts';
export { DEFAULT_LIMITS, GRPC_MAX_MESSAGE_BYTES, MAX_ACCOUNTS_PER_HELLO, MAX_OPERATION_MESSAGE_BYTES, SESSION_MESSAGE_MAX_ELEMENTS } from './limits.ts';
export { create, toBinary, fromBinary } from '@bufbuild/protobuf';
export { channelRequestWireSize, encodeSharedSyncRequest, MAX_CHANNEL_REQUESTS_PER_MESSAGE, type ChannelRequestPart } from './shared-sync-codec.ts';
