/**
 * `x402-stacks mcp`: a ready MCP server that lets an agent pay for HTTP APIs on Stacks from one wallet, within a
 * per-payment maximum, a session cap and, optionally, a budget file shared with other processes. It signs with a key
 * it reads, or through an `x402-stacks signer` socket so that the key never enters this process. Over stdio (the default, for MCP hosts that start it) or streamable HTTP
 * on a loopback address. stdout belongs to the protocol on stdio: every message of the command goes to stderr.
 * @module
 */
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { listenForStop, stopWithin } from '@x402-stacks/service-runtime';
import type { StacksAccount } from 'x402-stacks';
import { type Signer, socketSigner } from 'x402-stacks/client';
import { describeFailure } from './balance.js';
import { EXIT_USAGE, type Io, processIo, UsageError } from './io.js';
import { type McpCommandOptions, parseMcpArgs } from './mcp-config.js';
import { registerAgentTools } from './mcp-tools.js';
import { type AgentWallet, createAgentWallet } from './mcp-wallet.js';
import { loadAccount } from './pay.js';

export const MCP_USAGE = `Usage: x402-stacks mcp [options]

An MCP server for agents: tools fetch_paid (request a URL and pay its x402 price), balance, budget, discover (search
an x402scan registry) and payment_status, paid from one Stacks wallet within a per-payment maximum, a session cap
and, with a budget file, the budget every process counting in that file shares.

Options:
  --transport <stdio|http>  stdio (default), or streamable HTTP at http://<host>:<port>/mcp
  --host <address>          loopback only: 127.0.0.1 (default), ::1 or localhost
  --port <port>             HTTP port (default 8402; 0 picks a free one)
  --key-file <path>         file holding the wallet's private key (default: STACKS_PRIVATE_KEY); a regular file
                            of at most 4 KiB that only its owner may read or write (chmod 600)
  --allow-insecure-key-file use a key file that other users may read or write anyway
  --signer-socket <path>    sign through an 'x402-stacks signer' listening on this Unix socket instead: this process
                            never holds the key (env X402_SIGNER_SOCKET); give it or a key, not both
  --network <name>          testnet or mainnet (default: NETWORK, else testnet)
  --api-url <url>           Stacks node with the Hiro API (default: STACKS_API_URL_TESTNET or _MAINNET, then
                            STACKS_API_URL, then Hiro)
  --max-amount <amounts>    largest single payment per asset, such as '0.01 STX, 0.0001 sBTC'; then only the
                            assets named are paid (default: 1 STX, 0.0001 sBTC, 1 USDCx)
  --budget <amounts>        the session cap: the most this process spends per asset in all, counted in memory and
                            afresh at each start (default: 1 STX, 0.0001 sBTC, 1 USDCx, also for each asset it
                            does not name); when given with a budget file, also the total of every payment
                            counted in the file, as 'pay' reads it
  --window-budget <amounts> the most spent within the rolling window, per asset: counted in the budget file, or
                            in this session without one
  --budget-window <time>    the length of the window: '24h', '30m', '7d', '90s' or milliseconds (default 24h)
  --budget-file <path>      the budget journal shared by every process given the same path ('pay', other 'mcp'
                            sessions; not the signer's own, which would count each payment twice): each payment
                            is counted there before it is signed, and what was spent survives a restart
                            ('x402-stacks budget' shows it)
  --registry-url <url>      the x402scan registry 'discover' searches (default: http://127.0.0.1:8090)
  -h, --help                show this help

Environment: STACKS_PRIVATE_KEY, X402_KEY_FILE, X402_SIGNER_SOCKET, NETWORK, STACKS_API_URL_TESTNET,
STACKS_API_URL_MAINNET, STACKS_API_URL, STACKS_API_KEY, X402_MAX_AMOUNT, X402_BUDGET, X402_WINDOW_BUDGET,
X402_BUDGET_WINDOW, X402_BUDGET_FILE, X402_REGISTRY_URL, X402_MCP_TRANSPORT,
X402_MCP_HOST, X402_MCP_PORT, X402_MCP_MAX_BODY_BYTES (body handed to the agent, default 65536),
X402_MCP_HTTP_TOKEN (when set, HTTP requests must carry 'Authorization: Bearer <token>'). Flags win.

The key never appears in any tool's answer, nor in this command's output.`;

/** HTTP sessions held at once; past it a new session waits for one to close. Each holds a server and a transport. */
const MAX_HTTP_SESSIONS = 32;

/** Runs `x402-stacks mcp` until stdin closes (stdio) or SIGINT/SIGTERM; resolves with the exit code. */
export async function runMcp(
  argv: string[],
  io: Io = processIo,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  // On stdio, stdout carries the protocol: nothing else may be written there.
  const say = (text: string) => io.err(text);
  let options: McpCommandOptions;
  let account: StacksAccount | undefined;
  try {
    const parsed = parseMcpArgs(argv, env);
    if (parsed === 'help') {
      io.out(MCP_USAGE);
      return 0;
    }
    options = parsed;
    // With a signer socket, the key stays in the signer's process: this one never reads it.
    if (options.signerSocket === undefined) account = loadAccount(options, env);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    say(`x402-stacks mcp: ${error.message}\nRun 'x402-stacks mcp --help' for usage.`);
    return EXIT_USAGE;
  }
  let payer: StacksAccount | Signer;
  try {
    payer = account ?? (await connectSigner(options.signerSocket!, options));
  } catch (error) {
    const reason = (error as { reason?: string }).reason ?? 'signer_unavailable';
    say(`x402-stacks mcp: ${describeFailure(error)} (${reason})`);
    return 1;
  }
  const wallet = createAgentWallet(payer, options);
  const serverFor = () => {
    const server = new McpServer({ name: 'x402-stacks', version: '1.0.0' });
    registerAgentTools(server, wallet, options);
    return server;
  };
  if (options.transport === 'stdio') {
    const server = serverFor();
    const closed = new Promise<void>((resolve) => {
      server.server.onclose = () => resolve();
    });
    await server.connect(new StdioServerTransport());
    const stop = listenForStop();
    say(
      `x402-stacks mcp: serving ${payer.address} (${payer.network}) over stdio${signedBy(options)}`,
    );
    // The host closing our stdin is the end of the session, as much as a signal is.
    const stdinEnded = new Promise<void>((resolve) => {
      process.stdin.once('end', () => resolve());
      process.stdin.once('close', () => resolve());
    });
    try {
      const signal = await Promise.race([closed, stdinEnded, stop.first]);
      await server.close();
      if (signal) say(`${signal}: stopped`);
      return 0;
    } finally {
      stop.release();
    }
  }
  return serveHttp(options, wallet, serverFor, say);
}

async function serveHttp(
  options: McpCommandOptions,
  wallet: AgentWallet,
  serverFor: () => McpServer,
  say: (text: string) => void,
): Promise<number> {
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  let allowedHosts: string[] = [];
  const http = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) response.writeHead(500).end();
      say(`x402-stacks mcp: ${error instanceof Error ? error.message : String(error)}`);
    });
  });
  async function handle(request: IncomingMessage, response: ServerResponse) {
    if (new URL(request.url ?? '/', 'http://localhost').pathname !== '/mcp') {
      response.writeHead(404).end();
      return;
    }
    if (options.httpToken !== undefined && !bearerMatches(request, options.httpToken)) {
      response.writeHead(401, { 'www-authenticate': 'Bearer' }).end();
      return;
    }
    const id = request.headers['mcp-session-id'];
    let transport = typeof id === 'string' ? sessions.get(id) : undefined;
    if (!transport) {
      if (sessions.size >= MAX_HTTP_SESSIONS) {
        response.writeHead(503, { 'retry-after': '5' }).end('too many MCP sessions');
        return;
      }
      const created = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (sessionId) => {
          sessions.set(sessionId, created);
        },
        // A web page the user visits must not reach this wallet through DNS rebinding.
        enableDnsRebindingProtection: true,
        allowedHosts,
      });
      created.onclose = () => {
        if (created.sessionId) sessions.delete(created.sessionId);
      };
      await serverFor().connect(created);
      transport = created;
    }
    await transport.handleRequest(request, response);
  }
  http.listen(options.port, options.host);
  await once(http, 'listening');
  const { port } = http.address() as AddressInfo;
  allowedHosts = [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`];
  const shownHost = options.host.includes(':') ? `[${options.host}]` : options.host;
  const stop = listenForStop();
  say(
    `x402-stacks mcp: serving ${wallet.account.address} (${wallet.account.network}) at http://${shownHost}:${port}/mcp${signedBy(options)}`,
  );
  try {
    const signal = await stop.first;
    // Within the deadline, whatever holds a session's close (see stopWithin).
    return await stopWithin(
      {
        async stop() {
          await Promise.all([...sessions.values()].map((transport) => transport.close()));
          http.closeAllConnections();
          await new Promise<void>((resolve) => http.close(() => resolve()));
        },
      },
      signal,
      { out: say, err: say },
      { stopped: 'stopped' },
    );
  } finally {
    stop.release();
  }
}

/**
 * The signer at `path`, which must sign for the network this server pays on.
 * @throws {SignerError} `signer_unavailable` when nothing answers there; {UsageError} `network_mismatch`.
 */
async function connectSigner(path: string, options: McpCommandOptions): Promise<Signer> {
  const signer = await socketSigner(path);
  if (signer.network !== options.network) {
    throw new UsageError(
      `the signer at ${path} signs for ${signer.network}, and this server pays on ${options.network}`,
      'network_mismatch',
    );
  }
  return signer;
}

function signedBy(options: McpCommandOptions): string {
  return options.signerSocket === undefined ? '' : `, signing through ${options.signerSocket}`;
}

/** Compares digests in constant time, so the answer's timing tells nothing of the token. */
function bearerMatches(request: IncomingMessage, token: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(request.headers.authorization ?? ''), digest(`Bearer ${token}`));
}
