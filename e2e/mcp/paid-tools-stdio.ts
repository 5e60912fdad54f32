/** The paid tools of `paid-tools.ts` over stdio, for the stdio suites: configured by environment variables. */
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { paidToolsServer } from './paid-tools.js';

const server = paidToolsServer({
  facilitatorUrl: process.env.FACILITATOR_URL!,
  downFacilitatorUrl: process.env.DOWN_FACILITATOR_URL!,
  payTo: process.env.PAY_TO!,
});
await server.connect(new StdioServerTransport());
