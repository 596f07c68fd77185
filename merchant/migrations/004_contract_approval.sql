-- Contracts carry a status: a commission below the city's floor waits for a discount
-- approval (shared/approval) before it is active; a rejected one leaves the lead free
-- for a new contract. A lead has at most one current (pending or active) contract.
ALTER TABLE merchant.contracts
    ADD COLUMN status      text NOT NULL DEFAULT 'active' CHECK (status IN ('pending_approval', 'active', 'rejected', 'terminated')),
    ADD COLUMN deposit_fen bigint NOT NULL DEFAULT 0 CHECK (deposit_fen >= 0),
    ADD COLUMN approval_id uuid;                   -- the discount's approval request
ALTER TABLE merchant.contracts DROP CONSTRAINT contracts_lead_key;
CREATE UNIQUE INDEX contracts_lead_current_key ON merchant.contracts (lead_id) WHERE status IN ('pending_approval', 'active');
