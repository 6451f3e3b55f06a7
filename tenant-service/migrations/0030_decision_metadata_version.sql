-- The version of a decision's metadata pushed upward to the supervision workspace
-- (src/upward.rs): bumped under the row lock with every push, so the consumer keeps the
-- newest whatever order events arrive in.
ALTER TABLE decisions ADD COLUMN metadata_version BIGINT NOT NULL DEFAULT 0;
