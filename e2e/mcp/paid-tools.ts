/**
 * The MCP seller of the MCP suites: one McpServer with a free tool and paid tools priced through the library's
 * `registerPaidTool`, settled by the facilitator at `facilitatorUrl`. The same module backs the streamable HTTP
 * server of `mcp-stack.ts` and the stdio child `paid-tools-stdio.ts`, so both transports serve the same tools.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { getToolPayment, registerPaidTool } from 'x402-stacks/mcp';
import { z } from 'zod';

export type PaidToolsConfig = {
  facilitatorUrl: string;
  /** A facilitator that is not there, for the `down` tool. */
  downFacilitatorUrl: string;
  payTo: string;
};

export function paidToolsServer(config: PaidToolsConfig): McpServer {
  const server = new McpServer({ name: 'paid-tools', version: '1.0.0' });
  const price = {
    payTo: config.payTo,
    network: 'testnet',
    facilitatorUrl: config.facilitatorUrl,
    sponsored: false,
    // The devnet confirms at once; a short poll keeps a pending answer short.
    settlementPending: { attempts: 2, intervalMs: 50 },
  } as const;
  const echo = ({ text }: { text: string }, extra: object) => ({
    content: [
      {
        type: 'text' as const,
        text: JSON.stringify({ echo: text, transaction: getToolPayment(extra)?.transaction }),
      },
    ],
  });
  const input = { text: z.string().max(200) };

  server.registerTool(
    'free_echo',
    { description: 'Echoes the text, free.', inputSchema: input },
    echo,
  );
  registerPaidTool(
    server,
    'stx_echo',
    { description: 'Echoes the text for 1000 µSTX.', inputSchema: input },
    { ...price, amount: '1000' },
    echo,
  );
  registerPaidTool(
    server,
    'sbtc_echo',
    { description: 'Echoes the text for 250 sats of sBTC.', inputSchema: input },
    { ...price, amount: { amount: '250', asset: 'sBTC' } },
    echo,
  );
  registerPaidTool(
    server,
    'sponsored_echo',
    { description: 'Echoes the text for 700 µSTX, fee sponsored.', inputSchema: input },
    { ...price, amount: '700', sponsored: true },
    echo,
  );
  registerPaidTool(
    server,
    'after_echo',
    { description: 'Echoes the text; settled after it ran.', inputSchema: input },
    { ...price, amount: '1000', settle: 'after-handler' },
    echo,
  );
  registerPaidTool(
    server,
    'after_throws',
    { description: 'Always fails; settled after it ran, so never charged.', inputSchema: input },
    { ...price, amount: '1000', settle: 'after-handler' },
    () => {
      throw new Error('the tool failed');
    },
  );
  registerPaidTool(
    server,
    'dynamic_echo',
    { description: 'Echoes the text for 10 µSTX per character.', inputSchema: input },
    {
      ...price,
      amount: (call) => String(10 * String((call.arguments as { text: string }).text).length),
    },
    echo,
  );
  registerPaidTool(
    server,
    'typed_echo',
    {
      description: 'Echoes the text as structured content, for 1000 µSTX.',
      inputSchema: input,
      outputSchema: { echo: z.string() },
    },
    { ...price, amount: '1000' },
    ({ text }) => ({ content: [{ type: 'text', text }], structuredContent: { echo: text } }),
  );
  registerPaidTool(
    server,
    'down_echo',
    { description: 'Priced through a facilitator that is down.', inputSchema: input },
    { ...price, amount: '1000', facilitatorUrl: config.downFacilitatorUrl },
    echo,
  );
  return server;
}
