-- Runs per merchant, date and bill type (issue 14): the ALL run is the day's run of
-- record; a SUCCESS or REFUND run sits beside it and never replaces it. A day
-- without a bill (NO_STATEMENT_EXIST) is reconciled from our side alone: source
-- no_bill.
ALTER TABLE recon.runs DROP CONSTRAINT runs_mchid_bill_date_key;
ALTER TABLE recon.runs ADD CONSTRAINT runs_mchid_bill_date_type_key UNIQUE (mchid, bill_date, bill_type);
ALTER TABLE recon.runs DROP CONSTRAINT runs_source_check;
ALTER TABLE recon.runs ADD CONSTRAINT runs_source_check CHECK (source IN ('downloaded', 'file', 'no_bill'));

---- create above / drop below ----
ALTER TABLE recon.runs DROP CONSTRAINT runs_source_check;
ALTER TABLE recon.runs ADD CONSTRAINT runs_source_check CHECK (source IN ('downloaded', 'file'));
ALTER TABLE recon.runs DROP CONSTRAINT runs_mchid_bill_date_type_key;
ALTER TABLE recon.runs ADD CONSTRAINT runs_mchid_bill_date_key UNIQUE (mchid, bill_date);
