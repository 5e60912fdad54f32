/**
 * `x402-stacks/mcp`: x402 payments over the Model Context Protocol (`@modelcontextprotocol/sdk` 1.x). Sellers price
 * MCP tools with `registerPaidTool`; buyers pay them with `wrapMcpClientWithPayment`. The payment travels in MCP
 * `_meta`, as coinbase/x402's MCP transport specifies.
 * @module
 */
export type { PaymentOptions, PaymentRequiredContext } from '../client/payer.js';
export type { PaymentReceipt } from '../client/prepared.js';
export type { Payment } from '../server/payment.js';
export { MCP_META } from './meta.js';
export {
  getToolPayment,
  type PaidToolCall,
  type PaidToolConfig,
  type PaidToolOptions,
  registerPaidTool,
} from './paid-tool.js';
export {
  getPaymentReceipt,
  type PayingMcpClient,
  wrapMcpClientWithPayment,
} from './paying-client.js';
