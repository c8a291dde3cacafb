/**
 * A test agent that speaks the Session protocol to a real hub and records what the hub sends it, for
 * the dynamic accounts tests: its hello's zone and dynamic_accounts flag, the AccountDefinitions sets it
 * receives, and the account updates it sends (registering or removing an account).
 */
import { credentials, type Client, type ClientDuplexStream } from '@grpc/grpc-js';
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import { waitFor } from '../../src/common/time.ts';
import { AgentHubClient, AgentMessageSchema, PROTOCOL_VERSION, type AccountInfoSchema, type AgentMessage, type HubMessage } from '../../src/protocol/index.ts';

type SessionClient = Client & { Session(): ClientDuplexStream<AgentMessage, HubMessage> };

const WAIT_MS = 10_000;

/** One definition as the agent received it. */
export interface ReceivedDefinition {
  name: string;
  definition: Record<string, unknown>;
  revision: string;
}

export interface DefinitionAgentOptions {
  agentId: string;
  zoneId?: string;
  dynamicAccounts?: boolean;
}

export class DefinitionAgent {
  readonly received: HubMessage[] = [];
  private readonly client: SessionClient;
  private readonly call: ClientDuplexStream<AgentMessage, HubMessage>;
  private nonce = 0n;

  constructor(grpcAddress: string, options: DefinitionAgentOptions) {
    this.client = new AgentHubClient(grpcAddress, credentials.createInsecure()) as unknown as SessionClient;
    this.call = this.client.Session();
    this.call.on('error', () => undefined);
    this.call.on('data', (message: HubMessage) => this.received.push(message));
    this.call.write(
      create(AgentMessageSchema, {
        kind: {
          case: 'hello',
          value: {
            agentId: options.agentId,
            agentVersion: 'test',
            protocolVersion: PROTOCOL_VERSION,
            accounts: [],
            zoneId: options.zoneId ?? '',
            dynamicAccounts: options.dynamicAccounts ?? true,
          },
        },
      }),
    );
  }

  /** Every AccountDefinitions set received, oldest first, as name → definition. */
  sets(): ReceivedDefinition[][] {
    return this.received.flatMap((m) =>
      m.kind.case === 'accountDefinitions'
        ? [m.kind.value.definitions.map((d) => ({ name: d.name, definition: JSON.parse(d.definitionJson) as Record<string, unknown>, revision: d.revision }))]
        : [],
    );
  }

  /** The latest set's names, or undefined before the first. */
  names(): string[] | undefined {
    return this.sets()
      .at(-1)
      ?.map((d) => d.name);
  }

  /** Waits until the latest set has exactly these names. */
  async waitForNames(names: string[], what = `definitions ${names.join(', ') || '(none)'}`): Promise<ReceivedDefinition[]> {
    await waitFor(() => JSON.stringify(this.names()) === JSON.stringify(names), {
      timeoutMs: WAIT_MS,
      what: `${what} (latest: ${JSON.stringify(this.names())})`,
    });
    return this.sets().at(-1)!;
  }

  /**
   * A ping answered: everything the hub wrote to this session before the pong has arrived (one stream,
   * in order), so what has not arrived by then was not sent before it.
   */
  async roundTrip(): Promise<void> {
    const nonce = ++this.nonce;
    this.call.write(create(AgentMessageSchema, { kind: { case: 'ping', value: { nonce } } }));
    await waitFor(() => this.received.some((m) => m.kind.case === 'pong' && m.kind.value.nonce === nonce), { timeoutMs: WAIT_MS, what: 'a pong' });
  }

  /** Registers a served account (as a real agent does once a definition runs). */
  register(name: string, host = `https://${name}.example`): void {
    const info: MessageInitShape<typeof AccountInfoSchema> = {
      name,
      cluster: { apiServerHost: host, caFingerprint: 'ab', kubeSystemUid: `uid-${name}` },
      kubernetesVersion: 'v1.31.0',
    };
    this.call.write(create(AgentMessageSchema, { kind: { case: 'accountUpdate', value: { upserted: [info], removed: [] } } }));
  }

  /** Stops serving an account (a definition withdrawn from it). */
  remove(name: string): void {
    this.call.write(create(AgentMessageSchema, { kind: { case: 'accountUpdate', value: { upserted: [], removed: [name] } } }));
  }

  close(): void {
    this.call.cancel();
    this.client.close();
  }
}
