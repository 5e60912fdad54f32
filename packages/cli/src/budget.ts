/**
 * `x402-stacks budget`: the spending counted in a budget file against each cap, and the reset of a window.
 * @module
 */
import { parseArgs } from 'node:util';
import type { StacksNetworkName } from 'x402-stacks';
import { type BudgetUsage, createFileBudgetStore } from 'x402-stacks/client';
import { assetKey, formatAmount, resolveAsset, type StacksAsset } from 'x402-stacks/stacks';
import { describeFailure } from './balance.js';
import { BUDGET_FLAGS, BUDGET_USAGE, readBudgetSettings } from './budget-options.js';
import { EXIT_USAGE, type Io, processIo, UsageError } from './io.js';
import { networkFlag } from './keygen.js';

export const BUDGET_COMMAND_USAGE = `Usage: x402-stacks budget [options]

Shows what the payments counted in a budget file have spent, per asset, against each cap: the total, the rolling
window, and what is reserved (signed or about to be, and not yet known to have settled; counted as spent). Give it
the same budget flags (or environment) as 'x402-stacks pay'.

Options:
${BUDGET_USAGE}
  --reset-window <asset>   start the window of STX, sBTC, USDCx (or 'all') afresh: what was spent before now no
                           longer counts against --window-budget (it still counts against --budget)
  --network <name>         testnet or mainnet, for the token contracts (default: NETWORK, else testnet)
  --json                   one JSON object on stdout
  -h, --help               show this help

Exit codes: 0 when shown; 1 when the budget file cannot be read; 2 for a usage error (no budget file given).`;

const FLAGS = {
  ...BUDGET_FLAGS,
  'reset-window': { type: 'string', multiple: true },
  network: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

type AssetView = {
  asset: string;
  symbol: string;
  total: string;
  totalCap: string | null;
  window: string;
  windowCap: string | null;
  reserved: string;
  windowStart: string;
};

/** Runs `x402-stacks budget`; resolves with the exit code. */
export async function runBudget(
  argv: string[],
  io: Io = processIo,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  let values: ReturnType<typeof parseArgs<{ options: typeof FLAGS }>>['values'];
  let network: StacksNetworkName;
  let settings: ReturnType<typeof readBudgetSettings>;
  let resets: StacksAsset[] | 'all';
  try {
    values = parseArgs({ args: argv, options: FLAGS, strict: true }).values;
    if (values.help) {
      io.out(BUDGET_COMMAND_USAGE);
      return 0;
    }
    network = networkFlag(values.network ?? (env.NETWORK || undefined));
    settings = readBudgetSettings(values, env, network);
    if (settings.file === undefined) {
      throw new UsageError('give --budget-file <path> or set X402_BUDGET_FILE', 'no_budget_file');
    }
    const asked = values['reset-window'] ?? [];
    resets = asked.includes('all') ? 'all' : asked.map((symbol) => assetOf(symbol, network));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    io.err(`x402-stacks budget: ${message}\nRun 'x402-stacks budget --help' for usage.`);
    if (argv.includes('--json')) {
      const reason = error instanceof UsageError ? error.reason : 'usage_error';
      io.out(JSON.stringify({ ok: false, exitCode: EXIT_USAGE, reason }));
    }
    return EXIT_USAGE;
  }
  try {
    const store = createFileBudgetStore(settings.file);
    const capped = [...Object.keys(settings.total), ...Object.keys(settings.window)].map((symbol) =>
      assetKey(assetOf(symbol, network)),
    );
    const keys = [...new Set([...capped, ...(await store.assets())])].sort();
    const reset = resets === 'all' ? keys : resets.map((asset) => assetKey(asset));
    for (const key of reset) await store.resetWindow(key);
    const views: AssetView[] = [];
    for (const key of keys) {
      const asset = assetOf(key, network);
      const symbol = asset.symbol ?? key;
      const usage: BudgetUsage = await store.usage(key, settings.windowMs);
      const cap = (caps: Record<string, bigint>) => caps[symbol] ?? caps[key];
      const totalCap = cap(settings.total);
      const windowCap = cap(settings.window);
      views.push({
        asset: key,
        symbol,
        total: usage.total.toString(),
        totalCap: totalCap === undefined ? null : totalCap.toString(),
        window: usage.window.toString(),
        windowCap: windowCap === undefined ? null : windowCap.toString(),
        reserved: usage.reserved.toString(),
        windowStart: new Date(usage.windowStart).toISOString(),
      });
    }
    if (values.json) {
      io.out(
        JSON.stringify({
          ok: true,
          file: settings.file,
          windowMs: settings.windowMs,
          reset,
          assets: views,
        }),
      );
      return 0;
    }
    for (const key of reset) io.err(`Reset the window of ${key}.`);
    io.out(`Budget file ${settings.file} (window ${settings.windowMs} ms)`);
    if (views.length === 0) io.out('Nothing spent and no cap given.');
    for (const view of views) {
      const asset = assetOf(view.asset, network);
      const shown = (amount: string | null) =>
        amount === null ? 'no cap' : formatAmount(BigInt(amount), asset);
      io.out(
        `${view.symbol.padEnd(6)} total ${shown(view.total)} of ${shown(view.totalCap)}; ` +
          `window (since ${view.windowStart}) ${shown(view.window)} of ${shown(view.windowCap)}; ` +
          `reserved ${shown(view.reserved)}`,
      );
    }
    return 0;
  } catch (error) {
    const reason = (error as { reason?: string }).reason ?? 'budget_store_unavailable';
    io.err(`x402-stacks budget: ${describeFailure(error)}`);
    if (values.json) io.out(JSON.stringify({ ok: false, exitCode: 1, reason }));
    return 1;
  }
}

function assetOf(name: string, network: StacksNetworkName): StacksAsset {
  try {
    return resolveAsset(name, network);
  } catch {
    throw new UsageError(
      `'${name}' is not an asset on ${network} (STX, sBTC, USDCx or a contract id)`,
    );
  }
}
