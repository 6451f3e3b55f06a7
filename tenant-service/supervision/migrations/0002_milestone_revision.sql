-- An agency reports a returned milestone occurrence again (the tenant service keeps each
-- report as a revision): the newest revision re-opens the occurrence for a decision.
ALTER TABLE milestones ADD COLUMN revision INTEGER NOT NULL DEFAULT 1;
