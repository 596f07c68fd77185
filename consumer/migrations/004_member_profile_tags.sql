-- Member 360: a profile the labels are computed from (facts of the person), and tags
-- the business assigns (by hand, by rule, by import), each with its source and time.
ALTER TABLE consumer.members ADD COLUMN name text NOT NULL DEFAULT '';
ALTER TABLE consumer.members ADD COLUMN gender text NOT NULL DEFAULT '' CHECK (gender IN ('', 'female', 'male'));
ALTER TABLE consumer.members ADD COLUMN birthday date;
ALTER TABLE consumer.members ADD COLUMN city text NOT NULL DEFAULT '';
CREATE INDEX members_phone ON consumer.members (phone text_pattern_ops);
CREATE INDEX members_name_trgm ON consumer.members USING gin (name gin_trgm_ops);

CREATE TABLE consumer.member_tags (
    consumer_id uuid NOT NULL REFERENCES consumer.members (id),
    tag         text NOT NULL CHECK (length(tag) BETWEEN 1 AND 40),
    source      text NOT NULL CHECK (source IN ('manual', 'rule', 'import')),
    source_ref  text NOT NULL DEFAULT '',   -- the rule or the import it came from
    added_by    text NOT NULL DEFAULT '',   -- the actor
    added_at    timestamptz NOT NULL,
    PRIMARY KEY (consumer_id, tag)
);
CREATE INDEX member_tags_tag ON consumer.member_tags (tag, consumer_id);

---- create above / drop below ----
DROP TABLE consumer.member_tags;
DROP INDEX consumer.members_name_trgm;
DROP INDEX consumer.members_phone;
ALTER TABLE consumer.members DROP COLUMN city;
ALTER TABLE consumer.members DROP COLUMN birthday;
ALTER TABLE consumer.members DROP COLUMN gender;
ALTER TABLE consumer.members DROP COLUMN name;
