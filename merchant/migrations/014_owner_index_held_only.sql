-- The lead indexes an import pays for (issue 12). Every query that reads leads by owner
-- asks for an owner (owner_id = $1, owner_id = ANY($1), which imply one): the owner index
-- need not hold the leads with none — the pools' leads, every imported lead among them,
-- which leads_pool_idx and leads_pool_member_idx find. The other indexes of leads were
-- each found the only good plan of some query (the team's leads by stage take
-- leads_unit_stage_idx: 0.2 ms, 0.8 s without it at 1M leads).
DROP INDEX merchant.leads_owner_idx;
CREATE INDEX leads_owner_idx ON merchant.leads (owner_id, id) WHERE owner_id IS NOT NULL;

---- create above / drop below ----
DROP INDEX merchant.leads_owner_idx;
CREATE INDEX leads_owner_idx ON merchant.leads (owner_id, id);
