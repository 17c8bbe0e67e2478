-- What each payment's transactions add up to, kept on the payment from here on and moved by
-- every change (`ChainTotals` in paybank-core), so a capture need not read its whole chain.
-- Existing payments get theirs summed once here, by the same rules as `ChainTotals::add`:
-- captures (type 3) and deposits (6) hold their amount unless Failed (5), Canceled (7),
-- Denied (8) or Voided (13); captures and pays (2) add their pending, paid, refunded and
-- reversed; preauthorizations (10) are counted.
ALTER TABLE payments ADD COLUMN captures_held BIGINT NOT NULL DEFAULT 0;
ALTER TABLE payments ADD COLUMN deposits_held BIGINT NOT NULL DEFAULT 0;
ALTER TABLE payments ADD COLUMN total_pending BIGINT NOT NULL DEFAULT 0;
ALTER TABLE payments ADD COLUMN total_paid BIGINT NOT NULL DEFAULT 0;
ALTER TABLE payments ADD COLUMN total_refunded BIGINT NOT NULL DEFAULT 0;
ALTER TABLE payments ADD COLUMN total_reversed BIGINT NOT NULL DEFAULT 0;
ALTER TABLE payments ADD COLUMN preauthorizations BIGINT NOT NULL DEFAULT 0;

UPDATE payments SET (
    captures_held, deposits_held, total_pending, total_paid, total_refunded, total_reversed,
    preauthorizations
) = (
    SELECT
        COALESCE(SUM(CASE WHEN t.transaction_type = 3 AND t.status NOT IN (5, 7, 8, 13)
            THEN t.amount END), 0),
        COALESCE(SUM(CASE WHEN t.transaction_type = 6 AND t.status NOT IN (5, 7, 8, 13)
            THEN t.amount END), 0),
        COALESCE(SUM(CASE WHEN t.transaction_type IN (2, 3) THEN t.pending END), 0),
        COALESCE(SUM(CASE WHEN t.transaction_type IN (2, 3) THEN t.paid END), 0),
        COALESCE(SUM(CASE WHEN t.transaction_type IN (2, 3) THEN t.refunded END), 0),
        COALESCE(SUM(CASE WHEN t.transaction_type IN (2, 3) THEN t.reversed END), 0),
        COUNT(CASE WHEN t.transaction_type = 10 THEN 1 END)
    FROM transactions t
    WHERE t.payment_id = payments.payment_id
);
