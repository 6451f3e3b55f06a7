-- Supervision events (src/upward.rs). The version of a decision's metadata pushed upward:
-- bumped under the row lock with every push, so the consumer keeps the
-- newest whatever order events arrive in.
ALTER TABLE decisions ADD COLUMN metadata_version BIGINT NOT NULL DEFAULT 0;

-- The supervision events travel through the outbox too.
ALTER TABLE outbox DROP CONSTRAINT outbox_event_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_event_check
    CHECK (event IN ('disclosure', 'withdrawal', 'statistics', 'correction', 'anchor',
                     'list_publication', 'inspection_results', 'decision_metadata',
                     'compliance', 'milestone_report'));
