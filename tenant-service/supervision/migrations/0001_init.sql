-- The supervision workspace's own database: what the province stream pushed (agencies'
-- compliance, decision metadata, milestone reports) and what supervisors do with it
-- (notices, inspections, milestone decisions, case-file review).

-- Every applied stream message by its envelope id: a message delivered twice is applied once.
CREATE TABLE applied_events (
    id          UUID PRIMARY KEY,
    event       TEXT NOT NULL,
    agency      TEXT NOT NULL,
    stream_seq  BIGINT NOT NULL,
    applied_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Agencies seen on the stream, with their newest compliance counts.
CREATE TABLE agencies (
    agency         TEXT PRIMARY KEY,
    province       TEXT NOT NULL,
    city           TEXT NOT NULL,
    county         TEXT NOT NULL,
    display_name   TEXT NOT NULL DEFAULT '',
    compliance     JSONB,
    compliance_at  TIMESTAMPTZ,
    first_seen     TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX agencies_place ON agencies (province, city, county);

CREATE TABLE decisions (
    decision_id      UUID PRIMARY KEY,
    agency           TEXT NOT NULL REFERENCES agencies(agency),
    province         TEXT NOT NULL,
    city             TEXT NOT NULL,
    county           TEXT NOT NULL,
    document_number  TEXT NOT NULL,
    category         TEXT NOT NULL,
    procedure        TEXT NOT NULL,
    matter           TEXT,
    status           TEXT NOT NULL,
    review_required  BOOLEAN NOT NULL,
    reviewed         BOOLEAN NOT NULL,
    decided_on       DATE,
    issued_at        TIMESTAMPTZ,
    publish_online   BOOLEAN NOT NULL,
    disclosure_due   DATE,
    disclosure_due_pending_year INTEGER,
    disclosed_at     TIMESTAMPTZ,
    revoked_at       TIMESTAMPTZ,
    withdrawal_due   TIMESTAMPTZ,
    withdrawn_at     TIMESTAMPTZ,
    av_required      BOOLEAN,
    av_present       BOOLEAN,
    version          BIGINT NOT NULL,
    occurred_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX decisions_place ON decisions (province, city, county, agency);
CREATE INDEX decisions_keyset ON decisions (issued_at DESC, decision_id DESC);

CREATE TABLE milestones (
    agency       TEXT NOT NULL REFERENCES agencies(agency),
    plan         TEXT NOT NULL,
    milestone    TEXT NOT NULL,
    due          DATE NOT NULL,
    reported_at  TIMESTAMPTZ NOT NULL,
    status       TEXT NOT NULL DEFAULT 'reported' CHECK (status IN ('reported', 'confirmed', 'returned')),
    decided_by   TEXT,
    decided_at   TIMESTAMPTZ,
    reason       TEXT,
    PRIMARY KEY (agency, plan, milestone, due)
);

-- Notices (通报) with a rectification deadline (督促改正), the agency's answers, and
-- accountability (问责) when ignored.
CREATE TABLE notices (
    id            UUID PRIMARY KEY,
    agency        TEXT NOT NULL REFERENCES agencies(agency),
    title         TEXT NOT NULL,
    findings      TEXT[] NOT NULL,
    issued_by     TEXT NOT NULL,
    issuer_role   TEXT NOT NULL,
    issued_on     DATE NOT NULL,
    working_days  INTEGER NOT NULL,
    deadline      DATE NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('open', 'answered', 'returned', 'accepted')),
    escalated_at  TIMESTAMPTZ,
    escalated_by  TEXT,
    escalation    TEXT,
    inspection_id UUID,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX notices_agency ON notices (agency, created_at DESC);

-- Every step of a notice, append-only.
CREATE TABLE notice_steps (
    id         BIGSERIAL PRIMARY KEY,
    notice_id  UUID NOT NULL REFERENCES notices(id),
    step       TEXT NOT NULL CHECK (step IN ('issued', 'answered', 'accepted', 'returned', 'escalated')),
    actor      TEXT NOT NULL,
    role       TEXT NOT NULL,
    text       TEXT NOT NULL,
    at         TIMESTAMPTZ NOT NULL
);

-- Inspections (专项检查): what was looked at, where, and what was found.
CREATE TABLE inspections (
    id           UUID PRIMARY KEY,
    province     TEXT NOT NULL,
    city         TEXT,
    county       TEXT,
    subject      TEXT NOT NULL,
    agencies     TEXT[] NOT NULL,
    findings     TEXT NOT NULL,
    inspected_on DATE NOT NULL,
    created_by   TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Case-file review (案卷评查): a campaign draws a reproducible sample per agency.
CREATE TABLE review_campaigns (
    id          UUID PRIMARY KEY,
    name        TEXT NOT NULL,
    province    TEXT NOT NULL,
    city        TEXT,
    county      TEXT,
    seed        BIGINT NOT NULL,
    per_agency  INTEGER NOT NULL,
    period_from DATE NOT NULL,
    period_to   DATE NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE review_cases (
    campaign_id  UUID NOT NULL REFERENCES review_campaigns(id),
    decision_id  UUID NOT NULL REFERENCES decisions(decision_id),
    agency       TEXT NOT NULL REFERENCES agencies(agency),
    draw_rank    INTEGER NOT NULL,
    scores       JSONB,
    total        INTEGER,
    reviewed_by  TEXT,
    reviewed_at  TIMESTAMPTZ,
    PRIMARY KEY (campaign_id, decision_id)
);
