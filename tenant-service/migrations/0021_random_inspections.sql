-- Issue 12: random inspections (双随机): a registered target pool per inspection item, and
-- draws made reproducibly from a recorded seed.

CREATE TABLE inspection_targets (
    id            UUID PRIMARY KEY,
    item          TEXT NOT NULL,
    name          TEXT NOT NULL,
    credit_code   TEXT,
    registered_by TEXT NOT NULL,
    registered_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (item, name)
);

-- A draw keeps the seed and both candidate lists in the order drawn from, so anyone can
-- re-run it; the drawn targets and inspectors; the action recorded per target; and, once
-- reported, the results (抽查情况及查处结果) and when they were published.
CREATE TABLE inspection_draws (
    id                   UUID PRIMARY KEY,
    item                 TEXT NOT NULL,
    list_version         INTEGER NOT NULL,
    seed                 TEXT NOT NULL,
    target_pool          UUID[] NOT NULL,
    inspector_pool       UUID[] NOT NULL,
    draw                 JSONB NOT NULL,
    drawn_by             TEXT NOT NULL,
    drawn_at             TIMESTAMPTZ NOT NULL DEFAULT now(),
    results              JSONB,
    results_published_at TIMESTAMPTZ
);

-- The draw itself never changes; only its results are added, once.
CREATE FUNCTION sx_draw_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR OLD.seed IS DISTINCT FROM NEW.seed
        OR OLD.target_pool IS DISTINCT FROM NEW.target_pool
        OR OLD.inspector_pool IS DISTINCT FROM NEW.inspector_pool
        OR OLD.draw IS DISTINCT FROM NEW.draw
        OR OLD.results IS NOT NULL THEN
        RAISE EXCEPTION 'inspection draw % is recorded: % rejected', OLD.id, TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER inspection_draws_fixed
    BEFORE UPDATE OR DELETE ON inspection_draws
    FOR EACH ROW EXECUTE FUNCTION sx_draw_fixed();

ALTER TABLE outbox DROP CONSTRAINT outbox_event_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_event_check
    CHECK (event IN ('disclosure', 'withdrawal', 'statistics', 'correction', 'anchor',
                     'list_publication', 'inspection_results'));
