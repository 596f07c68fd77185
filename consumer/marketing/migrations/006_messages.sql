-- Messages: a campaign names its WeChat subscribe-message template, and every message
-- key ("<run>:<member>") is claimed here before it is handed to the channel, so a
-- retried send batch never sends a member the same message twice (at most once: a
-- worker killed between the claim and the channel loses that message).
ALTER TABLE marketing.campaigns ADD COLUMN message_template text NOT NULL DEFAULT '';

CREATE TABLE marketing.message_keys (
    key        text PRIMARY KEY,
    claimed_at timestamptz NOT NULL
);
