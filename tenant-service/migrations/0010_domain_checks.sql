-- The domain vocabulary (crate sanxiang-domain) as constraints, and pending due dates.
--
-- Category codes are EnforcementCategory::code(): the lower-case name of each category.
-- Earlier versions stored `fees` for 行政收费; it becomes `fee`. Append-only records and
-- published JSON keep what they said at the time.
UPDATE actions SET category = 'fee' WHERE category = 'fees';
UPDATE decisions SET category = 'fee' WHERE category = 'fees';
UPDATE personnel SET categories = array_replace(categories, 'fees', 'fee')
    WHERE 'fees' = ANY (categories);

ALTER TABLE actions ADD CONSTRAINT actions_category_known CHECK (category IN (
    'licensing', 'penalty', 'coercion', 'expropriation', 'requisition', 'inspection',
    'fee', 'adjudication', 'confirmation'));
ALTER TABLE decisions ADD CONSTRAINT decisions_category_known CHECK (category IN (
    'licensing', 'penalty', 'coercion', 'expropriation', 'requisition', 'inspection',
    'fee', 'adjudication', 'confirmation'));
ALTER TABLE personnel ADD CONSTRAINT personnel_categories_known CHECK (
    cardinality(categories) > 0 AND categories <@ ARRAY[
    'licensing', 'penalty', 'coercion', 'expropriation', 'requisition', 'inspection',
    'fee', 'adjudication', 'confirmation']::TEXT[]);
ALTER TABLE actions ADD CONSTRAINT actions_kind_known CHECK (kind IN (
    'seizure_detention', 'forced_demolition', 'personal_liberty', 'on_site_enforcement',
    'evidence_collection', 'hearing', 'lodged_service', 'service_by_announcement', 'other'));

-- A disclosure due date that reaches into a year without a WorkCalendar is pending: the
-- decision is issued and recorded, the date is computed when the year is loaded.
ALTER TABLE decisions ADD COLUMN disclosure_due_pending_year INTEGER;
ALTER TABLE decisions ADD CONSTRAINT decisions_due_known_or_pending
    CHECK (disclosure_due IS NULL OR disclosure_due_pending_year IS NULL);
CREATE INDEX decisions_due_pending ON decisions (id) WHERE disclosure_due_pending_year IS NOT NULL;
