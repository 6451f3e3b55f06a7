-- A random-inspection target may be a natural person (e.g. a sole trader trading under
-- their own name): its name is masked when the inspection results are published.
ALTER TABLE inspection_targets
    ADD COLUMN party_kind TEXT NOT NULL DEFAULT 'organisation'
        CHECK (party_kind IN ('natural_person', 'organisation'));
