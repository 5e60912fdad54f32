/**
 * The MCP suites' stack, all on 127.0.0.1: a devnet, the facilitator service app over HTTP (sponsoring with one
 * devnet key), and the paid tools of `paid-tools.ts` served over streamable HTTP (one McpServer per session) and,
 * per client, over stdio in a child process. `connect('http' | 'stdio')` gives a real SDK client of either.
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { type Devnet, startDevnet } from '@x402-stacks/devnet';
import { generateKeypair, type StacksAccount } from 'x402-stacks';
import { KNOWN_TOKENS } from 'x402-stacks/stacks';
import { closedPortUrl, startFacilitatorService } from '../clients/client-stack.js';
import { paidToolsServer } from './paid-tools.js';

export type Transport = 'http' | 'stdio';
export const TRANSPORTS: readonly Transport[] = ['http', 'stdio'];
const SBTC_ASSET_ID = `${KNOWN_TOKENS.sBTC.contracts.testnet}::${KNOWN_TOKENS.sBTC.assetName}`;

export type McpStack = {
  devnet: Devnet;
  facilitatorUrl: string;
  /** The streamable HTTP endpoint of the paid tools. */
  mcpUrl: string;
  payTo: string;
  sponsor: string;
  /** A connected SDK client of the paid tools over the given transport; closed by `stop()`. */
  connect(transport: Transport): Promise<Client>;
  buyer(funds?: { stx?: bigint; sBTC?: bigint }): StacksAccount;
  stx(address: string): bigint;
  sbtc(address: string): bigint;
  /** Resolves when the facilitator has followed every payment in flight to its end (after a block is mined). */
  idle(): Promise<void>;
  stop(): Promise<void>;
};

export async function startMcpStack(): Promise<McpStack> {
  const devnet = await startDevnet({ port: 0, accounts: 3 });
  const [seller, sponsorAccount] = [devnet.accounts[1]!, devnet.accounts[2]!];
  const { facilitator, facilitatorServer, facilitatorUrl } = await startFacilitatorService(
    devnet.url,
    sponsorAccount.privateKey,
  );
  const downFacilitatorUrl = await closedPortUrl();
  const config = { facilitatorUrl, downFacilitatorUrl, payTo: seller.address };

  // One McpServer and transport per session, as the SDK's streamable HTTP examples keep them.
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  const mcpServer = createServer(async (request, response) => {
    try {
      const id = request.headers['mcp-session-id'];
      let transport = typeof id === 'string' ? sessions.get(id) : undefined;
      if (!transport) {
        transport = new StreamableHTTPServerTransport({
          sessionIdGenerator: () => randomUUID(),
          onsessioninitialized: (sessionId) => {
            sessions.set(sessionId, transport!);
          },
        });
        await paidToolsServer(config).connect(transport);
      }
      await transport.handleRequest(request, response);
    } catch (error) {
      if (!response.headersSent) response.writeHead(500).end(String(error));
    }
  });
  mcpServer.listen(0, '127.0.0.1');
  await once(mcpServer, 'listening');
  const mcpUrl = `http://127.0.0.1:${(mcpServer.address() as AddressInfo).port}/mcp`;

  const clients: Client[] = [];
  return {
    devnet,
    facilitatorUrl,
    mcpUrl,
    payTo: seller.address,
    sponsor: sponsorAccount.address,
    async connect(kind) {
      const client = new Client({ name: 'mcp-e2e', version: '1.0.0' });
      const transport =
        kind === 'http'
          ? new StreamableHTTPClientTransport(new URL(mcpUrl))
          : new StdioClientTransport({
              command: process.execPath,
              args: [
                '--import',
                'tsx',
                fileURLToPath(new URL('./paid-tools-stdio.ts', import.meta.url)),
              ],
              env: {
                ...(process.env as Record<string, string>),
                FACILITATOR_URL: facilitatorUrl,
                DOWN_FACILITATOR_URL: downFacilitatorUrl,
                PAY_TO: seller.address,
              },
              stderr: 'inherit',
            });
      await client.connect(transport);
      clients.push(client);
      return client;
    },
    buyer(funds = { stx: 10_000_000n, sBTC: 1_000_000n }) {
      const account = generateKeypair('testnet');
      devnet.chain.fund(account.address, funds);
      return account;
    },
    stx: (address) => devnet.chain.state.stx(address),
    sbtc: (address) => devnet.chain.state.token(SBTC_ASSET_ID, address),
    idle: () => facilitator.idle(),
    async stop() {
      await Promise.all(clients.map((client) => client.close().catch(() => undefined)));
      await Promise.all([...sessions.values()].map((transport) => transport.close()));
      const closed = new Promise<void>((resolve) => mcpServer.close(() => resolve()));
      mcpServer.closeAllConnections();
      await closed;
      await new Promise<void>((resolve) => facilitatorServer.close(() => resolve()));
      await facilitator.idle();
      await devnet.stop();
    },
  };
}
