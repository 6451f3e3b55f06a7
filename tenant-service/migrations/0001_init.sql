-- Tenant schema: one database per enforcement agency.

CREATE TABLE personnel (
    id                 UUID PRIMARY KEY,
    name               TEXT NOT NULL,
    unit               TEXT NOT NULL,
    position           TEXT NOT NULL DEFAULT '',
    role               TEXT NOT NULL CHECK (role IN ('officer', 'legal_reviewer')),
    certificate_number TEXT NOT NULL,
    categories         TEXT[] NOT NULL,
    region             TEXT NOT NULL,
    valid_from         DATE NOT NULL,
    valid_until        DATE NOT NULL,
    legal_qualification BOOLEAN NOT NULL DEFAULT FALSE,
    active             BOOLEAN NOT NULL DEFAULT TRUE,
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (certificate_number)
);

CREATE TABLE actions (
    id               UUID PRIMARY KEY,
    title            TEXT NOT NULL,
    category         TEXT NOT NULL,
    procedure        TEXT NOT NULL CHECK (procedure IN ('simple', 'general')),
    kind             TEXT NOT NULL,
    requires_full_av BOOLEAN NOT NULL,
    target           TEXT NOT NULL,
    started_on       DATE NOT NULL,
    created_by       TEXT NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE action_officers (
    action_id    UUID NOT NULL REFERENCES actions(id),
    personnel_id UUID NOT NULL REFERENCES personnel(id),
    PRIMARY KEY (action_id, personnel_id)
);

-- Append-only, hash-chained record of an action.
CREATE TABLE record_entries (
    action_id    UUID NOT NULL REFERENCES actions(id),
    seq          INTEGER NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('text', 'av', 'event')),
    title        TEXT NOT NULL,
    content      TEXT NOT NULL DEFAULT '',
    media_sha256 TEXT,
    recorded_by  TEXT NOT NULL,
    recorded_at  TIMESTAMPTZ NOT NULL,
    prev_hash    TEXT NOT NULL,
    hash         TEXT NOT NULL,
    PRIMARY KEY (action_id, seq)
);

CREATE FUNCTION sx_reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'table % is append-only: % rejected', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER record_entries_append_only
    BEFORE UPDATE OR DELETE ON record_entries
    FOR EACH ROW EXECUTE FUNCTION sx_reject_change();
CREATE TRIGGER record_entries_no_truncate
    BEFORE TRUNCATE ON record_entries
    FOR EACH STATEMENT EXECUTE FUNCTION sx_reject_change();

-- Who read which record, and when (记录信息调阅监督).
CREATE TABLE record_access_log (
    id          BIGSERIAL PRIMARY KEY,
    action_id   UUID NOT NULL,
    accessed_by TEXT NOT NULL,
    role        TEXT NOT NULL,
    purpose     TEXT NOT NULL,
    accessed_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE TRIGGER record_access_log_append_only
    BEFORE UPDATE OR DELETE ON record_access_log
    FOR EACH ROW EXECUTE FUNCTION sx_reject_change();

CREATE TABLE decisions (
    id                 UUID PRIMARY KEY,
    action_id          UUID REFERENCES actions(id),
    document_number    TEXT NOT NULL UNIQUE,
    category           TEXT NOT NULL,
    procedure          TEXT NOT NULL CHECK (procedure IN ('simple', 'general')),
    party_kind         TEXT NOT NULL CHECK (party_kind IN ('natural_person', 'organisation')),
    party_name         TEXT NOT NULL,
    party_id_number    TEXT,
    party_phone        TEXT,
    party_address      TEXT,
    party_is_minor     BOOLEAN NOT NULL DEFAULT FALSE,
    involves_secrets   BOOLEAN NOT NULL DEFAULT FALSE,
    other_persons      TEXT[] NOT NULL DEFAULT '{}',
    facts              TEXT NOT NULL,
    legal_basis        TEXT NOT NULL,
    conclusion         TEXT NOT NULL,
    major              BOOLEAN NOT NULL,
    major_reasons      TEXT[] NOT NULL DEFAULT '{}',
    status             TEXT NOT NULL CHECK (status IN ('draft', 'issued', 'revoked')),
    decided_on         DATE,
    issued_at          TIMESTAMPTZ,
    disclosure_days    INTEGER,
    disclosure_due     DATE,
    publish_online     BOOLEAN NOT NULL DEFAULT TRUE,
    published_at       TIMESTAMPTZ,
    publication        JSONB,
    revoked_at         TIMESTAMPTZ,
    revocation_reason  TEXT,
    withdrawal_due     TIMESTAMPTZ,
    withdrawn_at       TIMESTAMPTZ,
    created_by         TEXT NOT NULL,
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX decisions_published ON decisions (published_at) WHERE published_at IS NOT NULL AND withdrawn_at IS NULL;

CREATE TABLE reviews (
    decision_id UUID PRIMARY KEY REFERENCES decisions(id),
    status      TEXT NOT NULL CHECK (status IN ('submitted', 'approved', 'issues_found',
                       'resubmitted', 'collective_discussion', 'decided_approve', 'decided_reject')),
    round       INTEGER NOT NULL DEFAULT 1,
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE review_steps (
    id          BIGSERIAL PRIMARY KEY,
    decision_id UUID NOT NULL REFERENCES reviews(decision_id),
    step        TEXT NOT NULL,
    actor       TEXT NOT NULL,
    role        TEXT NOT NULL,
    opinion     TEXT NOT NULL,
    at          TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE TRIGGER review_steps_append_only
    BEFORE UPDATE OR DELETE ON review_steps
    FOR EACH ROW EXECUTE FUNCTION sx_reject_change();

CREATE TABLE annual_reports (
    year        INTEGER PRIMARY KEY,
    figures     JSONB NOT NULL,
    reported_by TEXT NOT NULL,
    reported_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Transactional outbox, relayed to JetStream with Nats-Msg-Id = id.
CREATE TABLE outbox (
    seq        BIGSERIAL PRIMARY KEY,
    id         UUID NOT NULL UNIQUE,
    event      TEXT NOT NULL CHECK (event IN ('disclosure', 'withdrawal', 'statistics')),
    payload    JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    relayed_at TIMESTAMPTZ
);
CREATE INDEX outbox_pending ON outbox (seq) WHERE relayed_at IS NULL;
