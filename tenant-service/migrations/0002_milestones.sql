-- Supervision milestone occurrences the agency reports done (SupervisionPlan milestones).
CREATE TABLE milestone_reports (
    plan         TEXT NOT NULL,
    milestone    TEXT NOT NULL,
    due          DATE NOT NULL,
    note         TEXT NOT NULL DEFAULT '',
    reported_by  TEXT NOT NULL,
    reported_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (plan, milestone, due)
);
CREATE TRIGGER milestone_reports_append_only
    BEFORE UPDATE OR DELETE ON milestone_reports
    FOR EACH ROW EXECUTE FUNCTION sx_reject_change();
