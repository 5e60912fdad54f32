;; batch-escrow: the on-chain half of x402's batch-settlement scheme on Stacks.
;;
;; A payer deposits STX or an allow-listed SIP-010 token into a unidirectional channel once, then pays each request
;; off chain with a cumulative voucher (SIP-018, signed by the channel's payer-authorizer). The receiver side claims
;; the latest vouchers of many channels in one transaction, authorized by the receiver-authorizer (directly, or by a
;; SIP-018 signature that anyone may relay), and `settle` sweeps what was claimed to the receiver. The payer leaves
;; through a cooperative refund or, without the receiver's help, a timed withdrawal measured in burn blocks.
;;
;; Invariants every function keeps, per channel: claimed <= balance, claimed never decreases, and the contract holds,
;; per token, the sum over its channels of (balance - claimed) plus the sum of its unsettled claims.
;; The field-by-field reference (config, SIP-018 tuples, events, errors, security) is README.md beside this file.

;; Only `transfer` is called, so the trait asks for nothing else; any SIP-010 token conforms.
(define-trait sip-010-transfer
  ((transfer (uint principal principal (optional (buff 34))) (response bool uint))))

;; ---------------------------------------------------------------------------------------------------------------
;; Errors: one constant per refusal, documented in README.md ("Errors").

(define-constant ERR_NOT_ADMIN (err u100))
(define-constant ERR_NOT_PAYER (err u101))
(define-constant ERR_ZERO_AMOUNT (err u102))
(define-constant ERR_TOKEN_MISMATCH (err u103))
(define-constant ERR_TOKEN_NOT_ALLOWED (err u104))
(define-constant ERR_WITHDRAW_DELAY_OUT_OF_RANGE (err u105))
(define-constant ERR_AUTHORIZER_NOT_SIGNER (err u106))
(define-constant ERR_CHANNEL_NOT_FOUND (err u107))
(define-constant ERR_NO_CLAIMS (err u108))
(define-constant ERR_NOT_RECEIVER_AUTHORIZED (err u109))
(define-constant ERR_BAD_VOUCHER_SIGNATURE (err u110))
(define-constant ERR_CLAIM_ABOVE_VOUCHER (err u111))
(define-constant ERR_CLAIM_ABOVE_BALANCE (err u112))
(define-constant ERR_REFUND_NONCE (err u113))
(define-constant ERR_NOT_CHANNEL_PAYER (err u114))
(define-constant ERR_WITHDRAWAL_PENDING (err u115))
(define-constant ERR_WITHDRAWAL_ABOVE_AVAILABLE (err u116))
(define-constant ERR_NO_WITHDRAWAL (err u117))
(define-constant ERR_WITHDRAWAL_LOCKED (err u118))

;; ---------------------------------------------------------------------------------------------------------------
;; Limits.

;; A claim carries at most this many vouchers: enough to amortize one transaction over many channels, small enough
;; that a full batch stays far inside a block's runtime budget (one signature recovery per row, plus one for the batch).
(define-constant MAX_CLAIMS u100)
;; The withdrawal delay, in burn blocks: at least ~1 hour of Bitcoin blocks, so the receiver side has time to claim
;; what it is owed after a payer starts leaving, and at most ~30 days, so a payer's funds are never locked for long.
(define-constant MIN_WITHDRAW_DELAY u6)
(define-constant MAX_WITHDRAW_DELAY u4320)

;; ---------------------------------------------------------------------------------------------------------------
;; SIP-018. The domain binds every signature to this chain; the `escrow` field of every message binds it to this
;; contract, so a voucher for another deployment or another chain recovers a key over a different hash.

(define-constant SELF (as-contract tx-sender))
(define-constant SIP018_PREFIX 0x534950303138)
(define-constant DOMAIN_HASH
  (sha256 (unwrap-panic (to-consensus-buff? { name: "x402-batch-escrow", version: "1", chain-id: chain-id }))))

;; ---------------------------------------------------------------------------------------------------------------
;; State.

;; Who may allow SIP-010 tokens. It can never move funds: only allow a token for new deposits, or stop allowing it.
(define-data-var admin principal tx-sender)
;; SIP-010 tokens a channel may be opened or topped up in. A payout calls the token inside `as-contract`, where a
;; hostile token could spend this contract's other assets, so only reviewed tokens are listed.
(define-map allowed-tokens principal bool)

(define-map channels
  (buff 32)
  {
    config: {
      payer: principal,
      payer-authorizer: principal,
      receiver: principal,
      receiver-authorizer: principal,
      token: (optional principal),
      withdraw-delay: uint,
      salt: (buff 32),
    },
    ;; deposits minus refunds and withdrawals; what has been claimed is still counted here
    balance: uint,
    ;; the cumulative amount the receiver side has claimed, never lowered
    claimed: uint,
    ;; the nonce the next cooperative refund must carry
    refund-nonce: uint,
    withdrawal: (optional { amount: uint, requested-at: uint }),
  })

;; Claimed but not yet transferred, per receiver and token (none = STX): `settle` sweeps it in one transfer.
(define-map unsettled { receiver: principal, token: (optional principal) } uint)

;; ---------------------------------------------------------------------------------------------------------------
;; Admin.

(define-public (set-admin (new-admin principal))
  (begin
    (asserts! (is-eq contract-caller (var-get admin)) ERR_NOT_ADMIN)
    (print { event: "admin", admin: new-admin })
    (ok (var-set admin new-admin))))

(define-public (set-token-allowed (token principal) (allowed bool))
  (begin
    (asserts! (is-eq contract-caller (var-get admin)) ERR_NOT_ADMIN)
    (print { event: "token-allowed", token: token, allowed: allowed })
    (ok (map-set allowed-tokens token allowed))))

;; ---------------------------------------------------------------------------------------------------------------
;; Deposit: opens the channel on first use, tops it up afterwards. The payer is tx-sender, so a sponsored transaction
;; works: the sponsor pays the fee and the payer's funds move.

(define-public (deposit
    (config {
      payer: principal,
      payer-authorizer: principal,
      receiver: principal,
      receiver-authorizer: principal,
      token: (optional principal),
      withdraw-delay: uint,
      salt: (buff 32),
    })
    (amount uint)
    (token (optional <sip-010-transfer>)))
  (let (
      (id (get-channel-id config))
      (existing (map-get? channels id))
      (channel (default-to
        { config: config, balance: u0, claimed: u0, refund-nonce: u0, withdrawal: none }
        existing))
      (balance (+ (get balance channel) amount)))
    (asserts! (is-eq tx-sender (get payer config)) ERR_NOT_PAYER)
    (asserts! (> amount u0) ERR_ZERO_AMOUNT)
    (try! (check-token (get token config) token))
    (match (get token config)
      listed (asserts! (default-to false (map-get? allowed-tokens listed)) ERR_TOKEN_NOT_ALLOWED)
      true)
    (asserts! (and (>= (get withdraw-delay config) MIN_WITHDRAW_DELAY)
                   (<= (get withdraw-delay config) MAX_WITHDRAW_DELAY))
      ERR_WITHDRAW_DELAY_OUT_OF_RANGE)
    (asserts! (and (can-sign (get payer-authorizer config)) (can-sign (get receiver-authorizer config)))
      ERR_AUTHORIZER_NOT_SIGNER)
    (try! (pay-in token amount))
    (map-set channels id (merge channel { balance: balance }))
    (if (is-none existing) (begin (print { event: "open", channel-id: id, config: config }) true) true)
    (print {
      event: "deposit",
      channel-id: id,
      amount: amount,
      balance: balance,
      claimed: (get claimed channel),
    })
    (ok id)))

;; ---------------------------------------------------------------------------------------------------------------
;; Claim: raise each listed channel's claimed amount to the row's `claimed`, proven by the payer-authorizer's voucher
;; for `max-claimable` (>= claimed), and authorized for the whole batch by the channels' receiver-authorizer: its
;; SIP-018 signature over the batch (anyone may relay), or, with `authorization` none, tx-sender being each channel's
;; receiver or receiver-authorizer. A row at or below what is already claimed changes nothing, so a batch sent twice
;; (a retry, two relayers) is harmless. Returns the total newly claimed.

(define-public (claim
    (claims (list 100 {
      channel-id: (buff 32),
      max-claimable: uint,
      voucher-signature: (buff 65),
      claimed: uint,
    }))
    (authorization (optional (buff 65))))
  (begin
    (asserts! (> (len claims) u0) ERR_NO_CLAIMS)
    (let ((signer (match authorization
            signature (some (unwrap! (signer-of (claim-batch-hash (map claim-row-signed claims)) signature)
                                     ERR_NOT_RECEIVER_AUTHORIZED))
            none)))
      (ok (get total (try! (fold claim-row claims (ok { signer: signer, total: u0 }))))))))

;; One row of a claim, folded over the batch; the first refusal is kept and aborts the whole claim.
(define-private (claim-row
    (row { channel-id: (buff 32), max-claimable: uint, voucher-signature: (buff 65), claimed: uint })
    (previous (response { signer: (optional principal), total: uint } uint)))
  (let (
      (batch (try! previous))
      (id (get channel-id row))
      (channel (unwrap! (map-get? channels id) ERR_CHANNEL_NOT_FOUND))
      (config (get config channel))
      (target (get claimed row)))
    (asserts! (match (get signer batch)
        signer (is-eq signer (get receiver-authorizer config))
        (or (is-eq tx-sender (get receiver config)) (is-eq tx-sender (get receiver-authorizer config))))
      ERR_NOT_RECEIVER_AUTHORIZED)
    (asserts! (is-eq (signer-of (voucher-hash id (get max-claimable row)) (get voucher-signature row))
                     (some (get payer-authorizer config)))
      ERR_BAD_VOUCHER_SIGNATURE)
    (asserts! (<= target (get max-claimable row)) ERR_CLAIM_ABOVE_VOUCHER)
    (if (<= target (get claimed channel))
      (ok batch)
      (let (
          (raised (- target (get claimed channel)))
          (pool { receiver: (get receiver config), token: (get token config) }))
        (asserts! (<= target (get balance channel)) ERR_CLAIM_ABOVE_BALANCE)
        (map-set channels id (merge channel { claimed: target }))
        (map-set unsettled pool (+ (default-to u0 (map-get? unsettled pool)) raised))
        (print {
          event: "claim",
          channel-id: id,
          amount: raised,
          balance: (get balance channel),
          claimed: target,
        })
        (ok (merge batch { total: (+ (get total batch) raised) }))))))

;; What the receiver-authorizer signs for each row: the channel and the new claimed total.
(define-private (claim-row-signed
    (row { channel-id: (buff 32), max-claimable: uint, voucher-signature: (buff 65), claimed: uint }))
  { channel-id: (get channel-id row), claimed: (get claimed row) })

;; ---------------------------------------------------------------------------------------------------------------
;; Settle: transfer everything claimed for (receiver, token) to the receiver, in one transfer. Anyone may call it; the
;; funds can only go to the receiver. Nothing to sweep is not a refusal: it answers (ok u0) and moves nothing.

(define-public (settle (receiver principal) (token (optional <sip-010-transfer>)))
  (let (
      (pool { receiver: receiver, token: (token-principal token) })
      (amount (default-to u0 (map-get? unsettled pool))))
    (if (is-eq amount u0)
      (ok u0)
      (begin
        (map-delete unsettled pool)
        (try! (pay-out token amount receiver))
        (print { event: "settle", receiver: receiver, token: (get token pool), amount: amount })
        (ok amount)))))

;; ---------------------------------------------------------------------------------------------------------------
;; Cooperative refund: the receiver side returns up to `amount` of the unclaimed escrow (balance - claimed) to the
;; payer. Authorized like a claim: the receiver-authorizer's SIP-018 signature over (channel, amount, nonce), relayable
;; by anyone, or tx-sender being the receiver or receiver-authorizer. `nonce` must be the channel's refund-nonce,
;; which then advances, so each signed refund is used once. A pending withdrawal shrinks by what was refunded.
;; Returns the amount refunded (0 when nothing was left unclaimed; the nonce still advances).

(define-public (refund
    (channel-id (buff 32))
    (amount uint)
    (nonce uint)
    (authorization (optional (buff 65)))
    (token (optional <sip-010-transfer>)))
  (let (
      (channel (unwrap! (map-get? channels channel-id) ERR_CHANNEL_NOT_FOUND))
      (config (get config channel))
      (available (- (get balance channel) (get claimed channel)))
      (refunded (if (< amount available) amount available))
      (balance (- (get balance channel) refunded))
      (withdrawal (match (get withdrawal channel)
          pending (if (> (get amount pending) refunded)
            (some (merge pending { amount: (- (get amount pending) refunded) }))
            none)
          none)))
    (asserts! (> amount u0) ERR_ZERO_AMOUNT)
    (try! (check-token (get token config) token))
    (asserts! (match authorization
        signature (is-eq (signer-of (refund-hash channel-id amount nonce) signature)
                         (some (get receiver-authorizer config)))
        (or (is-eq tx-sender (get receiver config)) (is-eq tx-sender (get receiver-authorizer config))))
      ERR_NOT_RECEIVER_AUTHORIZED)
    (asserts! (is-eq nonce (get refund-nonce channel)) ERR_REFUND_NONCE)
    (map-set channels channel-id (merge channel {
      balance: balance,
      refund-nonce: (+ nonce u1),
      withdrawal: withdrawal,
    }))
    (if (> refunded u0) (try! (pay-out token refunded (get payer config))) true)
    (print {
      event: "refund",
      channel-id: channel-id,
      amount: refunded,
      balance: balance,
      claimed: (get claimed channel),
      refund-nonce: (+ nonce u1),
    })
    (ok refunded)))

;; ---------------------------------------------------------------------------------------------------------------
;; Timed withdrawal, the payer's escape hatch. The payer (or its authorizer) announces `amount`, at most the unclaimed
;; escrow; claims keep working during the delay, which is how the receiver side collects what it is owed. Once
;; `withdraw-delay` burn blocks have passed, the payer takes what is still unclaimed of that amount.

(define-public (start-withdrawal (channel-id (buff 32)) (amount uint))
  (let (
      (channel (unwrap! (map-get? channels channel-id) ERR_CHANNEL_NOT_FOUND))
      (config (get config channel)))
    (asserts! (is-payer-side config) ERR_NOT_CHANNEL_PAYER)
    (asserts! (is-none (get withdrawal channel)) ERR_WITHDRAWAL_PENDING)
    (asserts! (> amount u0) ERR_ZERO_AMOUNT)
    (asserts! (<= amount (- (get balance channel) (get claimed channel))) ERR_WITHDRAWAL_ABOVE_AVAILABLE)
    (map-set channels channel-id
      (merge channel { withdrawal: (some { amount: amount, requested-at: burn-block-height }) }))
    (print {
      event: "withdrawal-started",
      channel-id: channel-id,
      amount: amount,
      requested-at: burn-block-height,
      unlocks-at: (+ burn-block-height (get withdraw-delay config)),
    })
    (ok (+ burn-block-height (get withdraw-delay config)))))

(define-public (finish-withdrawal (channel-id (buff 32)) (token (optional <sip-010-transfer>)))
  (let (
      (channel (unwrap! (map-get? channels channel-id) ERR_CHANNEL_NOT_FOUND))
      (config (get config channel))
      (pending (unwrap! (get withdrawal channel) ERR_NO_WITHDRAWAL))
      (available (- (get balance channel) (get claimed channel)))
      (paid (if (< (get amount pending) available) (get amount pending) available))
      (balance (- (get balance channel) paid)))
    (asserts! (is-payer-side config) ERR_NOT_CHANNEL_PAYER)
    (try! (check-token (get token config) token))
    (asserts! (>= burn-block-height (+ (get requested-at pending) (get withdraw-delay config)))
      ERR_WITHDRAWAL_LOCKED)
    (map-set channels channel-id (merge channel { balance: balance, withdrawal: none }))
    (if (> paid u0) (try! (pay-out token paid (get payer config))) true)
    (print {
      event: "withdrawal-finished",
      channel-id: channel-id,
      amount: paid,
      balance: balance,
      claimed: (get claimed channel),
    })
    (ok paid)))

;; ---------------------------------------------------------------------------------------------------------------
;; Read-only: what clients, facilitators and indexers compute or look up.

(define-read-only (get-channel-id (config {
      payer: principal,
      payer-authorizer: principal,
      receiver: principal,
      receiver-authorizer: principal,
      token: (optional principal),
      withdraw-delay: uint,
      salt: (buff 32),
    }))
  (sha256 (unwrap-panic (to-consensus-buff? config))))

(define-read-only (get-channel (id (buff 32)))
  (map-get? channels id))

(define-read-only (get-unsettled (receiver principal) (token (optional principal)))
  (default-to u0 (map-get? unsettled { receiver: receiver, token: token })))

(define-read-only (is-token-allowed (token principal))
  (default-to false (map-get? allowed-tokens token)))

(define-read-only (get-admin)
  (var-get admin))

;; The SIP-018 hash a payer-authorizer signs: it lets the receiver side claim up to `max-claimable` in total.
(define-read-only (voucher-hash (id (buff 32)) (max-claimable uint))
  (sip018-hash (unwrap-panic (to-consensus-buff? {
    action: "voucher",
    escrow: SELF,
    channel-id: id,
    max-claimable: max-claimable,
  }))))

;; The SIP-018 hash a receiver-authorizer signs to authorize one claim batch, row for row in order.
(define-read-only (claim-batch-hash (claims (list 100 { channel-id: (buff 32), claimed: uint })))
  (sip018-hash (unwrap-panic (to-consensus-buff? { action: "claim", escrow: SELF, claims: claims }))))

;; The SIP-018 hash a receiver-authorizer signs to authorize one cooperative refund.
(define-read-only (refund-hash (id (buff 32)) (amount uint) (nonce uint))
  (sip018-hash (unwrap-panic (to-consensus-buff? {
    action: "refund",
    escrow: SELF,
    channel-id: id,
    amount: amount,
    nonce: nonce,
  }))))

;; Whether `signature` is the channel's payer-authorizer's voucher for `max-claimable`, and the channel could pay it:
;; (ok true) when it is claimable now, (ok false) when it is genuine but above the balance; an error otherwise.
(define-read-only (check-voucher (id (buff 32)) (max-claimable uint) (signature (buff 65)))
  (let ((channel (unwrap! (map-get? channels id) ERR_CHANNEL_NOT_FOUND)))
    (asserts! (is-eq (signer-of (voucher-hash id max-claimable) signature)
                     (some (get payer-authorizer (get config channel))))
      ERR_BAD_VOUCHER_SIGNATURE)
    (ok (<= max-claimable (get balance channel)))))

;; ---------------------------------------------------------------------------------------------------------------
;; Private helpers.

(define-private (sip018-hash (message (buff 16384)))
  (sha256 (concat SIP018_PREFIX (concat DOMAIN_HASH (sha256 message)))))

;; The standard principal whose (compressed) key made `signature` over `hash`, on this chain's address version.
(define-private (signer-of (hash (buff 32)) (signature (buff 65)))
  (match (secp256k1-recover? hash signature)
    key (match (principal-of? key) signer (some signer) failed none)
    failed none))

;; Only a single-signature standard principal of this network can produce the signatures `signer-of` recovers.
(define-private (can-sign (who principal))
  (match (principal-destruct? who)
    parts (and (is-none (get name parts))
               (or (is-eq (get version parts) 0x16) (is-eq (get version parts) 0x1a)))
    wrong-network false))

(define-private (is-payer-side (config { payer: principal, payer-authorizer: principal, receiver: principal,
                                         receiver-authorizer: principal, token: (optional principal),
                                         withdraw-delay: uint, salt: (buff 32) }))
  (or (is-eq tx-sender (get payer config)) (is-eq tx-sender (get payer-authorizer config))))

(define-private (token-principal (token (optional <sip-010-transfer>)))
  (match token t (some (contract-of t)) none))

;; The token passed at call time must be the channel's own: none for STX, or exactly the configured contract. A
;; different contract, even one with the same functions, is refused before it is ever called.
(define-private (check-token (configured (optional principal)) (token (optional <sip-010-transfer>)))
  (if (is-eq configured (token-principal token)) (ok true) ERR_TOKEN_MISMATCH))

(define-private (pay-in (token (optional <sip-010-transfer>)) (amount uint))
  (match token
    t (contract-call? t transfer amount tx-sender SELF none)
    (stx-transfer? amount tx-sender SELF)))

(define-private (pay-out (token (optional <sip-010-transfer>)) (amount uint) (recipient principal))
  (match token
    t (as-contract (contract-call? t transfer amount SELF recipient none))
    (as-contract (stx-transfer? amount SELF recipient))))
