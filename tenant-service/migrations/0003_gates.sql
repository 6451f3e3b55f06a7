-- Issue 11: the review gate as a state machine, disclosure exemptions with a basis,
-- publication approval and corrections, record times and signatures, statistics versions.

-- Decisions: the matter code is kept (the catalogue is checked again at issue), closed
-- drafts, exemption from online publication with its basis and approval, the withdrawal's
-- own reason, the publication's approval and version.
ALTER TABLE decisions
    ADD COLUMN matter TEXT,
    ADD COLUMN not_online_basis TEXT,
    ADD COLUMN not_online_requested_by TEXT,
    ADD COLUMN not_online_approved_by TEXT,
    ADD COLUMN not_online_approved_at TIMESTAMPTZ,
    ADD COLUMN not_online_opinion TEXT,
    ADD COLUMN publish_after_processing BOOLEAN NOT NULL DEFAULT FALSE,
    ADD COLUMN withdrawal_reason TEXT,
    ADD COLUMN publication_requested_by TEXT,
    ADD COLUMN publication_requested_at TIMESTAMPTZ,
    ADD COLUMN publication_approved_by TEXT,
    ADD COLUMN publication_version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE decisions DROP CONSTRAINT decisions_status_check;
ALTER TABLE decisions ADD CONSTRAINT decisions_status_check
    CHECK (status IN ('draft', 'issued', 'revoked', 'closed'));

-- Every round's draft, as submitted (append-only).
CREATE TABLE decision_versions (
    decision_id UUID NOT NULL REFERENCES decisions(id),
    version     INTEGER NOT NULL,
    round       INTEGER NOT NULL,
    content     JSONB NOT NULL,
    recorded_by TEXT NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (decision_id, version)
);
CREATE TRIGGER decision_versions_append_only
    BEFORE UPDATE OR DELETE ON decision_versions
    FOR EACH ROW EXECUTE FUNCTION sx_reject_change();

-- Review: negotiation before collective discussion, transfer to judicial organs, closed
-- drafts; the opinion's due date (working days per policy).
ALTER TABLE reviews DROP CONSTRAINT reviews_status_check;
ALTER TABLE reviews ADD CONSTRAINT reviews_status_check
    CHECK (status IN ('submitted', 'approved', 'issues_found', 'resubmitted', 'negotiation',
                      'collective_discussion', 'decided_approve', 'decided_reject',
                      'transferred', 'closed'));
ALTER TABLE reviews ADD COLUMN opinion_due DATE;
ALTER TABLE review_steps
    ADD COLUMN reviewer_id UUID REFERENCES personnel(id),
    ADD COLUMN checklist JSONB,
    ADD COLUMN round INTEGER;

-- A token's subject names a person on the list (OIDC subject).
ALTER TABLE personnel ADD COLUMN subject TEXT UNIQUE;

-- Record entries: when the recorded event happened (besides when it was entered), and the
-- agency's signature over the entry hash (key held outside this database).
ALTER TABLE record_entries
    ADD COLUMN occurred_at TIMESTAMPTZ,
    ADD COLUMN signature TEXT,
    ADD COLUMN key_id TEXT;
ALTER TABLE actions ADD COLUMN no_av BOOLEAN NOT NULL DEFAULT FALSE;

-- Supervisors' reads of full decisions (记录信息调阅监督), like record reads.
CREATE TABLE decision_access_log (
    id          BIGSERIAL PRIMARY KEY,
    decision_id UUID NOT NULL,
    accessed_by TEXT NOT NULL,
    role        TEXT NOT NULL,
    purpose     TEXT NOT NULL,
    accessed_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE TRIGGER decision_access_log_append_only
    BEFORE UPDATE OR DELETE ON decision_access_log
    FOR EACH ROW EXECUTE FUNCTION sx_reject_change();

-- Annual statistics: versions (a correction is a new version), manual entries with source.
ALTER TABLE annual_reports DROP CONSTRAINT annual_reports_pkey;
ALTER TABLE annual_reports
    ADD COLUMN version INTEGER NOT NULL DEFAULT 1,
    ADD COLUMN manual JSONB NOT NULL DEFAULT '{}',
    ADD COLUMN source TEXT NOT NULL DEFAULT '',
    ADD COLUMN period_from DATE,
    ADD COLUMN period_to DATE;
ALTER TABLE annual_reports ADD PRIMARY KEY (year, version);
CREATE TRIGGER annual_reports_append_only
    BEFORE UPDATE OR DELETE ON annual_reports
    FOR EACH ROW EXECUTE FUNCTION sx_reject_change();

-- New events: corrections of publications, anchors of record chain heads.
ALTER TABLE outbox DROP CONSTRAINT outbox_event_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_event_check
    CHECK (event IN ('disclosure', 'withdrawal', 'statistics', 'correction', 'anchor'));
