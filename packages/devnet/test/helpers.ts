/** Signing helpers for devnet tests: real transactions from the genesis accounts, nonce and fee always explicit. */
import { bytesToHex, hexToBytes } from '@stacks/common';
import {
  Cl,
  type ClarityValue,
  deserializeTransaction,
  makeContractCall,
  makeSTXTokenTransfer,
  Pc,
  type PostCondition,
  postConditionToWire,
  sponsorTransaction,
  TransactionSigner,
} from '@stacks/transactions';
import { genesisAccounts } from '../src/genesis.js';

export const [DEPLOYER, WALLET_1, WALLET_2] = genesisAccounts(3) as [
  ReturnType<typeof genesisAccounts>[number],
  ReturnType<typeof genesisAccounts>[number],
  ReturnType<typeof genesisAccounts>[number],
];
export const SBTC = 'SN3VMHXEN64ZZF71JQ5VESXDWTR301XTTXGF4J8F1.sbtc-token';
export const SBTC_ASSET = `${SBTC}::sbtc-token`;

export type StxOptions = {
  key?: string;
  recipient?: string;
  amount?: bigint;
  nonce?: bigint;
  fee?: bigint;
  network?: 'testnet' | 'mainnet';
  sponsored?: boolean;
  postConditions?: PostCondition[];
};

export async function stxTransfer(options: StxOptions = {}): Promise<Uint8Array> {
  const tx = await makeSTXTokenTransfer({
    recipient: options.recipient ?? WALLET_1.address,
    amount: options.amount ?? 1000n,
    senderKey: options.key ?? DEPLOYER.privateKey,
    network: options.network ?? 'testnet',
    nonce: options.nonce ?? 0n,
    fee: options.fee ?? (options.sponsored ? 0n : 300n),
    sponsored: options.sponsored ?? false,
  });
  if (options.postConditions) {
    // Builders leave post-conditions off transfers (the node refuses them at block processing); add and re-sign.
    tx.postConditions.values.push(...options.postConditions.map(postConditionToWire));
    new TransactionSigner(tx).signOrigin(options.key ?? DEPLOYER.privateKey);
  }
  return hexToBytes(tx.serialize());
}

export type TokenOptions = {
  key?: string;
  contract?: string;
  functionName?: string;
  amount?: bigint;
  sender?: string;
  recipient?: string;
  memo?: ClarityValue;
  args?: ClarityValue[];
  nonce?: bigint;
  fee?: bigint;
  mode?: 'allow' | 'deny';
  postConditions?: PostCondition[];
};

export async function tokenTransfer(options: TokenOptions = {}): Promise<Uint8Array> {
  const contract = options.contract ?? SBTC;
  const [contractAddress, contractName] = contract.split('.') as [string, string];
  const amount = options.amount ?? 5000n;
  const sender = options.sender ?? DEPLOYER.address;
  const tx = await makeContractCall({
    contractAddress,
    contractName,
    functionName: options.functionName ?? 'transfer',
    functionArgs: options.args ?? [
      Cl.uint(amount),
      Cl.principal(sender),
      Cl.principal(options.recipient ?? WALLET_1.address),
      options.memo ?? Cl.none(),
    ],
    senderKey: options.key ?? DEPLOYER.privateKey,
    network: 'testnet',
    nonce: options.nonce ?? 0n,
    fee: options.fee ?? 3000n,
    postConditionMode: options.mode ?? 'deny',
    postConditions: options.postConditions ?? [
      Pc.principal(sender)
        .willSendEq(amount)
        .ft(contract as `${string}.${string}`, 'sbtc-token'),
    ],
    validateWithAbi: false,
  });
  return hexToBytes(tx.serialize());
}

export async function sponsor(raw: Uint8Array, sponsorKey: string, fee: bigint, nonce: bigint) {
  const signed = await sponsorTransaction({
    transaction: deserializeTransaction(bytesToHex(raw)),
    sponsorPrivateKey: sponsorKey,
    fee,
    sponsorNonce: nonce,
    network: 'testnet',
  });
  return hexToBytes(signed.serialize());
}
