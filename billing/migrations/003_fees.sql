-- WeChat's fees in the ledger (issue 14): a fee entry per payment and per refund,
-- booked from the bill once reconciliation matched the line. The merchant bears the
-- fee: it comes off what we owe them (merchant_payable, debit) and out of the money
-- WeChat holds for us (wxpay_clearing, credit); a refund's fee given back reverses it.
ALTER TABLE billing.journal_entries DROP CONSTRAINT journal_entries_kind_check;
ALTER TABLE billing.journal_entries ADD CONSTRAINT journal_entries_kind_check CHECK (kind IN ('payment', 'refund', 'fee'));

---- create above / drop below ----
ALTER TABLE billing.journal_entries DROP CONSTRAINT journal_entries_kind_check;
ALTER TABLE billing.journal_entries ADD CONSTRAINT journal_entries_kind_check CHECK (kind IN ('payment', 'refund'));
