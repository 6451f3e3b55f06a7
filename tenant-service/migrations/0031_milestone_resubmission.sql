-- A supervisor may return a reported milestone occurrence (in the supervision workspace,
-- with a reason); the agency then reports it again. Reports stay append-only: a report
-- made again is a new row with the next revision, so every report stays on record.
ALTER TABLE milestone_reports ADD COLUMN revision INTEGER NOT NULL DEFAULT 1
    CONSTRAINT milestone_reports_revision_check CHECK (revision >= 1);
ALTER TABLE milestone_reports DROP CONSTRAINT milestone_reports_pkey;
ALTER TABLE milestone_reports ADD CONSTRAINT milestone_reports_pkey
    PRIMARY KEY (plan, milestone, due, revision);
