-- Issue 12: the lists published before enforcement (事前公开), versioned and reviewed, and
-- decisions tied to a matter of the agency's effective matter list.

-- One row per version of one list. Items follow the kind's schema (sanxiang-domain
-- prepublication / matter). A version is written while draft or returned, then only its
-- status moves: submitted -> approved | returned -> ... -> published (effective_from).
CREATE TABLE list_versions (
    kind            TEXT NOT NULL CHECK (kind IN ('subjects', 'matters', 'supervision_matters',
                        'random_inspections', 'service_guides', 'personnel')),
    version         INTEGER NOT NULL CHECK (version > 0),
    status          TEXT NOT NULL CHECK (status IN ('draft', 'submitted', 'returned',
                        'approved', 'published')),
    items           JSONB NOT NULL,
    created_by      TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    effective_from  DATE,
    published_at    TIMESTAMPTZ,
    PRIMARY KEY (kind, version),
    CHECK ((status = 'published') = (effective_from IS NOT NULL))
);
CREATE INDEX list_versions_effective ON list_versions (kind, effective_from)
    WHERE status = 'published';

-- Items of a version that left draft can no longer change: a change is a new version.
CREATE FUNCTION sx_list_items_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'list versions are kept: DELETE rejected'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF OLD.items IS DISTINCT FROM NEW.items AND OLD.status NOT IN ('draft', 'returned') THEN
        RAISE EXCEPTION 'list % version % is %: its items are frozen', OLD.kind, OLD.version, OLD.status
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF OLD.status = 'published' AND NEW.status IS DISTINCT FROM 'published' THEN
        RAISE EXCEPTION 'list % version % is published', OLD.kind, OLD.version
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER list_versions_frozen
    BEFORE UPDATE OR DELETE ON list_versions
    FOR EACH ROW EXECUTE FUNCTION sx_list_items_frozen();

-- Every step of every version (append-only): who, role, when, the opinion, and at submit
-- the items as submitted.
CREATE TABLE list_steps (
    id       BIGSERIAL PRIMARY KEY,
    kind     TEXT NOT NULL,
    version  INTEGER NOT NULL,
    step     TEXT NOT NULL CHECK (step IN ('draft', 'revise', 'submit', 'return', 'approve',
                 'publish')),
    actor    TEXT NOT NULL,
    role     TEXT NOT NULL,
    opinion  TEXT NOT NULL DEFAULT '',
    items    JSONB,
    at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    FOREIGN KEY (kind, version) REFERENCES list_versions (kind, version)
);
CREATE TRIGGER list_steps_append_only
    BEFORE UPDATE OR DELETE ON list_steps
    FOR EACH ROW EXECUTE FUNCTION sx_reject_change();

-- Decisions and actions name the matter list version they were drafted under; decisions
-- carry their discretion (circumstance level, penalty, 说明理由).
ALTER TABLE decisions
    ADD COLUMN matter_version INTEGER,
    ADD COLUMN discretion JSONB;
ALTER TABLE actions
    ADD COLUMN matter TEXT,
    ADD COLUMN matter_version INTEGER;

ALTER TABLE outbox DROP CONSTRAINT outbox_event_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_event_check
    CHECK (event IN ('disclosure', 'withdrawal', 'statistics', 'correction', 'anchor',
                     'list_publication'));
