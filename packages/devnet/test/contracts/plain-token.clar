;; A minimal SIP-010 token for the escrow tests: anyone may mint, transfer moves the sender's own tokens.
(define-fungible-token plain)

(define-public (transfer (amount uint) (sender principal) (recipient principal) (memo (optional (buff 34))))
  (begin
    (asserts! (is-eq tx-sender sender) (err u4))
    (ft-transfer? plain amount sender recipient)))

(define-public (mint (amount uint) (recipient principal))
  (ft-mint? plain amount recipient))

(define-read-only (get-balance (who principal))
  (ok (ft-get-balance plain who)))
