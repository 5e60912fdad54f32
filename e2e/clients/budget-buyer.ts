/**
 * One buyer process of the budget tests: pays `BUDGET_URL` `BUDGET_PAYMENTS` times at once (or one after another,
 * forever, with `BUDGET_SEQUENTIAL=1`) with the budget in the shared file `BUDGET_FILE`, and prints one JSON line per
 * outcome. The key comes from the environment of the test that spawned it.
 */
import { privateKeyToAccount } from 'x402-stacks';
import {
  createFileBudgetStore,
  type PaymentOptions,
  wrapFetchWithPayment,
} from 'x402-stacks/client';

const env = process.env;
const account = privateKeyToAccount(env.BUDGET_KEY!, 'testnet');
const options: PaymentOptions = {
  apiUrl: env.BUDGET_API_URL!,
  budget: { STX: env.BUDGET_TOTAL! },
  budgetStore: createFileBudgetStore(env.BUDGET_FILE!),
  nonceWatchMs: 20,
};
const pay = wrapFetchWithPayment(fetch, account, options);

async function once(): Promise<string> {
  try {
    const response = await pay(env.BUDGET_URL!);
    await response.arrayBuffer();
    return response.status === 200 ? 'paid' : `status_${response.status}`;
  } catch (error) {
    return (error as { reason?: string }).reason ?? 'error';
  }
}

if (env.BUDGET_SEQUENTIAL === '1') {
  for (;;) {
    const outcome = await once();
    process.stdout.write(`${JSON.stringify({ outcome })}\n`);
    if (outcome === 'payment_over_budget') break;
  }
} else {
  const outcomes = await Promise.all(
    Array.from({ length: Number(env.BUDGET_PAYMENTS) }, () => once()),
  );
  for (const outcome of outcomes) process.stdout.write(`${JSON.stringify({ outcome })}\n`);
}
