#!/usr/bin/env python3
"""Generates tenant-service/openapi.json (the document is hand-maintained through this script).

Run it through `cargo xtask generate`, which passes the enforcement category codes of
sanxiang-domain (SANXIANG_CATEGORY_CODES) and the output path (SANXIANG_OPENAPI_OUT).
"""
import json, os, sys

sys.dont_write_bytecode = True  # the fragment module below must leave no cache in the tree

import openapi_prepublication

def ref(n): return {"$ref": f"#/components/schemas/{n}"}
def body(schema, required=True): return {"required": required, "content": {"application/json": {"schema": schema}}}
def ok(schema, code="200", desc="OK"): return {code: {"description": desc, "content": {"application/json": {"schema": schema}}}}
ERR = {"description": "Error", "content": {"application/json": {"schema": ref("Error")}}}
def errs(*codes): return {str(c): ERR for c in codes}
AG = {"name": "agency", "in": "path", "required": True, "schema": {"type": "string"}, "description": "Agency (tenant) id"}
ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}
YEAR = {"name": "year", "in": "path", "required": True, "schema": {"type": "integer"}}
def q(name, desc, t="string", fmt=None):
    s = {"type": t}
    if fmt: s["format"] = fmt
    return {"name": name, "in": "query", "required": False, "schema": s, "description": desc}
SEC = [{"bearer": []}]
# Once an agency has a matter list in force, the matter decides the category (事前公开, issue 12).
CATEGORY_FROM_MATTER = {**ref("Category"), "description": "From the matter (must agree if given)"}
MATTER_CODE = "Code of a matter on the agency's effective matter list (a matter list must be in force)"
AUTHERR = errs(400, 401, 403, 404)

def op(summary, tag, params=(), req=None, resp=None, errors=AUTHERR, secured=True, desc=None):
    o = {"summary": summary, "tags": [tag], "parameters": list(params), "responses": {}}
    if desc: o["description"] = desc
    if req: o["requestBody"] = req
    o["responses"].update(resp or ok({"type": "object"}))
    o["responses"].update(errors)
    if secured: o["security"] = SEC
    else: o["security"] = []
    return o

CATS = [c for c in os.environ.get("SANXIANG_CATEGORY_CODES", "").split(",") if c]
if not CATS:
    sys.exit("gen_openapi.py: run it through `cargo xtask generate` (it passes the category codes)")
schemas = {
  "Error": {"type": "object", "required": ["error"], "properties": {
      "error": {"type": "string", "description": "What is wrong and which rule"},
      "field": {"type": "string", "description": "The offending field (JSON path), header or parameter"}}},
  "Category": {"type": "string", "enum": CATS},
  "Procedure": {"type": "string", "enum": ["simple", "general"]},
  "PersonnelInput": {"type": "object", "additionalProperties": False,
      "required": ["name", "unit", "role", "certificateNumber", "categories", "region", "validFrom", "validUntil"],
      "properties": {"name": {"type": "string"}, "unit": {"type": "string"}, "position": {"type": "string"},
        "role": {"type": "string", "enum": ["officer", "legal_reviewer"]},
        "certificateNumber": {"type": "string"}, "categories": {"type": "array", "items": ref("Category"), "minItems": 1},
        "region": {"type": "string"}, "validFrom": {"type": "string", "format": "date"},
        "validUntil": {"type": "string", "format": "date"}, "legalQualification": {"type": "boolean"},
        "subject": {"type": "string", "description": "Sign-in subject (token sub) of the person; a reviewer's opinion must come from their own token"}}},
  "Person": {"type": "object", "properties": {"id": {"type": "string", "format": "uuid"}, "name": {"type": "string"},
        "unit": {"type": "string"}, "position": {"type": "string"}, "role": {"type": "string"},
        "certificateNumber": {"type": "string"}, "categories": {"type": "array", "items": {"type": "string"}},
        "region": {"type": "string"}, "validFrom": {"type": "string", "format": "date"},
        "validUntil": {"type": "string", "format": "date"}, "legalQualification": {"type": "boolean"},
        "active": {"type": "boolean"}, "certificateValid": {"type": "boolean"},
        "createdAt": {"type": "string", "format": "date-time"}, "updatedAt": {"type": "string", "format": "date-time"}}},
  "PersonnelList": {"type": "object", "properties": {"items": {"type": "array", "items": ref("Person")},
        "validOfficers": {"type": "integer"}, "validLegalReviewers": {"type": "integer"},
        "requiredLegalReviewers": {"type": "integer"}, "reviewerRatioMet": {"type": "boolean"}}},
  "ActionInput": {"type": "object", "additionalProperties": False,
      "required": ["title", "procedure", "matter", "kind", "target", "officerIds"],
      "properties": {"title": {"type": "string"}, "category": CATEGORY_FROM_MATTER, "procedure": ref("Procedure"),
        "matter": {"type": "string", "description": MATTER_CODE},
        "kind": {"type": "string", "enum": ["seizure_detention", "forced_demolition", "personal_liberty",
            "on_site_enforcement", "evidence_collection", "hearing", "lodged_service", "service_by_announcement", "other"],
            "description": "seizure_detention, forced_demolition and personal_liberty require full-process A/V recording"},
        "target": {"type": "string"}, "startedOn": {"type": "string", "format": "date"},
        "involvesSecretsOrPrivacy": {"type": "boolean", "description": "No A/V recording may be attached"},
        "officerIds": {"type": "array", "items": {"type": "string", "format": "uuid"}, "minItems": 1, "maxItems": 20,
            "description": "Officers with a certificate valid on startedOn covering the category; general procedure needs two"}}},
  "Action": {"type": "object", "properties": {"id": {"type": "string", "format": "uuid"}, "title": {"type": "string"},
        "category": {"type": "string"}, "procedure": {"type": "string"}, "kind": {"type": "string"},
        "requiresFullAv": {"type": "boolean"}, "target": {"type": "string"}, "startedOn": {"type": "string", "format": "date"},
        "createdBy": {"type": "string"}, "createdAt": {"type": "string", "format": "date-time"},
        "officerIds": {"type": "array", "items": {"type": "string", "format": "uuid"}},
        "recordEntries": {"type": "integer"}, "avMissing": {"type": "boolean"}}},
  "EntryInput": {"type": "object", "additionalProperties": False, "required": ["kind", "title"],
      "properties": {"kind": {"type": "string", "enum": ["text", "av", "event"]}, "title": {"type": "string"},
        "content": {"type": "string"}, "mediaSha256": {"type": "string", "pattern": "^[0-9a-fA-F]{64}$",
            "description": "SHA-256 of the media; required for av"},
        "occurredAt": {"type": "string", "format": "date-time", "description": "When the recorded event happened (default: now)"},
        "involvesSecretsOrPrivacy": {"type": "boolean", "description": "Refused as av"}}},
  "Entry": {"type": "object", "properties": {"actionId": {"type": "string", "format": "uuid"}, "seq": {"type": "integer"},
        "kind": {"type": "string"}, "title": {"type": "string"}, "content": {"type": "string"},
        "mediaSha256": {"type": "string", "nullable": True}, "recordedBy": {"type": "string"},
        "recordedAt": {"type": "string", "format": "date-time"}, "occurredAt": {"type": "string", "format": "date-time", "nullable": True},
        "prevHash": {"type": "string"}, "hash": {"type": "string"},
        "signature": {"type": "string", "nullable": True, "description": "Ed25519 signature of hash by the agency's key (held outside the database)"},
        "keyId": {"type": "string", "nullable": True}}},
  "Verification": {"type": "object", "properties": {"actionId": {"type": "string", "format": "uuid"},
        "intact": {"type": "boolean"}, "entries": {"type": "integer"}, "signed": {"type": "integer"},
        "firstBrokenLink": {"type": "object", "nullable": True, "properties": {"seq": {"type": "integer"}, "reason": {"type": "string"}}}}},
  "PartyInput": {"type": "object", "additionalProperties": False, "required": ["kind", "name"],
      "properties": {"kind": {"type": "string", "enum": ["natural_person", "organisation"]}, "name": {"type": "string"},
        "idNumber": {"type": "string", "description": "Resident ID number, or the organisation's unified social credit code"},
        "phone": {"type": "string"}, "address": {"type": "string"}, "isMinor": {"type": "boolean"}}},
  "DecisionInput": {"type": "object", "additionalProperties": False,
      "required": ["documentNumber", "procedure", "matter", "party", "facts", "legalBasis", "conclusion"],
      "properties": {"documentNumber": {"type": "string"}, "category": CATEGORY_FROM_MATTER, "procedure": ref("Procedure"),
        "actionId": {"type": "string", "format": "uuid"}, "party": ref("PartyInput"),
        "otherPersons": {"type": "array", "items": {"type": "string"}, "maxItems": 50, "description": "Natural persons other than the party named in the text (masked on publication)"},
        "involvesSecrets": {"type": "boolean", "description": "Not published online, with notOnlineBasis and the agency admin's approval"},
        "notOnlineBasis": {"type": "string", "description": "Legal basis for not publishing online"},
        "publishAfterProcessing": {"type": "boolean", "description": "Involves secrets or privacy but is published after redaction"}, "facts": {"type": "string"}, "legalBasis": {"type": "string"},
        "conclusion": {"type": "string"}, "matter": {"type": "string", "description": MATTER_CODE},
        "discretion": ref("DecisionDiscretion"),
        "majorCriteria": {"type": "object", "additionalProperties": False, "properties": {
            "hearingHeld": {"type": "boolean"}, "majorPublicInterest": {"type": "boolean"},
            "majorSocialImpact": {"type": "boolean"}, "majorRights": {"type": "boolean"}, "complex": {"type": "boolean"}}}}},
  "Decision": {"type": "object", "description": "The agency's full (unredacted) decision",
      "properties": {"id": {"type": "string", "format": "uuid"}, "documentNumber": {"type": "string"},
        "category": {"type": "string"}, "procedure": {"type": "string"}, "status": {"type": "string", "enum": ["draft", "issued", "revoked", "closed"]},
        "major": {"type": "boolean"}, "majorReasons": {"type": "array", "items": {"type": "string"}},
        "decidedOn": {"type": "string", "format": "date", "nullable": True},
        "disclosureDays": {"type": "integer", "nullable": True},
        "disclosureDue": {"type": "string", "format": "date", "nullable": True},
        "publishOnline": {"type": "boolean"}, "publishedAt": {"type": "string", "format": "date-time", "nullable": True},
        "publication": {"allOf": [ref("Publication")], "nullable": True},
        "revokedAt": {"type": "string", "format": "date-time", "nullable": True},
        "withdrawalDue": {"type": "string", "format": "date-time", "nullable": True},
        "withdrawnAt": {"type": "string", "format": "date-time", "nullable": True},
        "withdrawalReason": {"type": "string", "nullable": True},
        "notOnlineBasis": {"type": "string", "nullable": True}, "notOnlineApprovedBy": {"type": "string", "nullable": True},
        "publicationRequestedBy": {"type": "string", "nullable": True}, "publicationApprovedBy": {"type": "string", "nullable": True},
        "publicationVersion": {"type": "integer"},
        "reviewStatus": {"type": "string", "nullable": True}}, "additionalProperties": True},
  "Publication": {"type": "object", "description": "Redacted, public form of a decision",
      "properties": {"id": {"type": "string", "format": "uuid"}, "documentNumber": {"type": "string"},
        "agency": {"type": "string"}, "province": {"type": "string"}, "city": {"type": "string"}, "county": {"type": "string"},
        "category": {"type": "string"}, "procedure": {"type": "string"}, "target": {"type": "string"},
        "targetCode": {"type": "string", "nullable": True}, "facts": {"type": "string"}, "legalBasis": {"type": "string"},
        "conclusion": {"type": "string"}, "decidedOn": {"type": "string", "format": "date"},
        "publishedAt": {"type": "string", "format": "date-time"},
        "version": {"type": "integer", "description": "1, +1 per correction"},
        "correctionReason": {"type": "string"}}},
  "Check": {"type": "string", "enum": ["pass", "issue"]},
  "Checklist": {"type": "object", "additionalProperties": False, "description": "审核内容",
      "required": ["subject", "officerQualification", "procedure", "factsAndEvidence", "lawAndDiscretion", "authority", "documents", "transferToJudicialOrgans"],
      "properties": {"subject": ref("Check"), "officerQualification": ref("Check"), "procedure": ref("Check"),
        "factsAndEvidence": ref("Check"), "lawAndDiscretion": ref("Check"), "authority": ref("Check"), "documents": ref("Check"),
        "transferToJudicialOrgans": {"type": "boolean", "description": "Suspected crime to transfer to judicial organs"}}},
  "Review": {"type": "object", "properties": {"decisionId": {"type": "string", "format": "uuid"},
        "status": {"type": "string", "enum": ["submitted", "approved", "issues_found", "resubmitted", "negotiation", "collective_discussion", "decided_approve", "decided_reject", "transferred", "closed"]},
        "round": {"type": "integer"}, "opinionDue": {"type": "string", "format": "date", "nullable": True},
        "steps": {"type": "array", "items": {"type": "object", "properties": {
            "id": {"type": "integer"}, "step": {"type": "string"}, "actor": {"type": "string"}, "role": {"type": "string"},
            "opinion": {"type": "string"}, "at": {"type": "string", "format": "date-time"},
            "reviewerId": {"type": "string", "format": "uuid", "nullable": True}, "checklist": {"allOf": [ref("Checklist")], "nullable": True},
            "round": {"type": "integer", "nullable": True}}}},
        "versions": {"type": "array", "description": "Every round's draft as submitted", "items": {"type": "object"}}}},
  "StepInput": {"type": "object", "additionalProperties": False, "required": ["opinion"], "properties": {"opinion": {"type": "string"}}},
  "Statistics": {"type": "object", "properties": {"year": {"type": "integer"}, "reported": {"type": "boolean"},
        "figures": {"type": "object", "description": "Per category: decisions, general, simple, published, revoked (0 where none)"}}},
}

A = "/api/v1/agencies/{agency}"
paths = {
  "/openapi.json": {"get": op("This document", "meta", resp=ok({"type": "object"}), errors={}, secured=False)},
  A + "/personnel": {
      "get": op("Personnel list with certificate validity and reviewer ratio", "personnel", [AG,
          q("role", "officer or legal_reviewer"), q("includeInactive", "Include removed people", "boolean")], resp=ok(ref("PersonnelList"))),
      "post": op("Add a person (agency_admin)", "personnel", [AG], body(ref("PersonnelInput")),
          ok(ref("Person"), "201", "Created"), errs(400, 401, 403, 404, 409, 422))},
  A + "/personnel/{id}": {
      "get": op("One person", "personnel", [AG, ID], resp=ok(ref("Person"))),
      "put": op("Replace a person's entry (agency_admin)", "personnel", [AG, ID], body(ref("PersonnelInput")),
          ok(ref("Person")), errs(400, 401, 403, 404, 409, 422)),
      "delete": op("Remove from the current list (kept for history)", "personnel", [AG, ID],
          resp={"204": {"description": "Removed"}})},
  A + "/actions": {
      "get": op("Enforcement actions", "actions", [AG, q("avMissing", "Only actions missing required A/V", "boolean"),
          q("limit", "1..1000", "integer")]),
      "post": op("Start an enforcement action", "actions", [AG], body(ref("ActionInput")),
          ok(ref("Action"), "201", "Created"), errs(400, 401, 403, 404, 422),
          desc="422 names the officer (officerIds[i]) without a valid certificate covering the category.")},
  A + "/actions/{id}": {"get": op("One action, with avMissing flag", "actions", [AG, ID], resp=ok(ref("Action")))},
  A + "/actions/{id}/record": {
      "get": op("Read the record (the read is logged)", "record", [AG, ID, q("purpose", "Why the record is read")],
          resp=ok({"type": "object", "properties": {"actionId": {"type": "string"}, "intact": {"type": "boolean"},
              "entries": {"type": "array", "items": ref("Entry")}}})),
      "post": op("Append a record entry (hash-chained, immutable)", "record", [AG, ID], body(ref("EntryInput")),
          ok(ref("Entry"), "201", "Created"))},
  A + "/actions/{id}/record/verify": {"get": op("Verify the hash chain, signatures and an anchor; names the first broken link (logged)", "record",
      [AG, ID, q("anchorHash", "Head hash kept upward (anchor event)"), q("anchorSequence", "Its sequence", "integer")],
      resp=ok(ref("Verification")))},
  A + "/actions/{id}/access-log": {"get": op("Who read the record, when", "record", [AG, ID])},
  A + "/decisions": {
      "get": op("Decisions (a supervisor's read is logged)", "decisions", [AG, q("status", "draft, issued, revoked or closed"),
          q("overdue", "Only decisions past their disclosure due date", "boolean"),
          q("exempted", "Only decisions kept offline (minor, approved exemption)", "boolean"),
          q("purpose", "Why a supervisor reads"), q("limit", "1..1000", "integer")]),
      "post": op("Draft a decision", "decisions", [AG], body(ref("DecisionInput")), ok(ref("Decision"), "201", "Created"),
          errs(400, 401, 403, 404, 409, 422))},
  A + "/decisions/{id}": {"get": op("One decision (a supervisor's read is logged)", "decisions", [AG, ID, q("purpose", "Why a supervisor reads")], resp=ok(ref("Decision"))),
      "put": op("Revise a draft (before review, when the review found issues, or after a rejecting collective decision); a major decision stays major", "decisions", [AG, ID],
          body(ref("DecisionInput")), ok(ref("Decision")), errs(400, 401, 403, 404, 409, 422))},
  A + "/decisions/{id}/issue": {"post": op("Issue a decision; computes the disclosure due date in working days", "decisions",
      [AG, ID], body({"type": "object", "additionalProperties": False, "properties": {"decidedOn": {"type": "string", "format": "date"}}}, False),
      ok(ref("Decision")), errs(400, 401, 403, 404, 409, 422),
      desc="409 (field review) for a major decision without an approving review; 422 (field decidedOn) when the WorkCalendar of a needed year is missing.")},
  A + "/decisions/{id}/publish": {"post": op("Request publication (202, awaiting a second person's approval), or publish when no approval is configured", "decisions", [AG, ID],
      resp={**ok(ref("Decision"), "202", "Awaiting approval"), **ok(ref("Decision"))}, errors=errs(400, 401, 403, 404, 409, 422),
      desc="422 (field partyIsMinor or involvesSecrets) for cases not published online.")},
  A + "/decisions/{id}/publication/preview": {"get": op("The publication as it would be (redacted); nothing written", "decisions", [AG, ID],
      resp=ok({"type": "object", "properties": {"preview": ref("Publication")}}), errors=errs(400, 401, 403, 404, 409, 422))},
  A + "/decisions/{id}/publication/approve": {"post": op("Approve a requested publication (approver role, another person); publishes and pushes upward", "decisions", [AG, ID],
      resp=ok(ref("Decision")), errors=errs(400, 401, 403, 404, 409, 422))},
  A + "/decisions/{id}/publication/correct": {"post": op("Correct a publication: a new version, pushed as a correction event", "decisions", [AG, ID],
      body({"type": "object", "additionalProperties": False, "required": ["reason"], "properties": {"reason": {"type": "string"},
          "facts": {"type": "string"}, "legalBasis": {"type": "string"}, "conclusion": {"type": "string"}}}),
      ok(ref("Decision")), errs(400, 401, 403, 404, 409, 422))},
  A + "/decisions/{id}/exemption": {"post": op("Approve not publishing online a decision that involves secrets or privacy (agency_admin)", "decisions", [AG, ID],
      body({"type": "object", "additionalProperties": False, "required": ["opinion"], "properties": {"opinion": {"type": "string"}}}),
      ok(ref("Decision")), errs(400, 401, 403, 404, 409, 422))},
  A + "/decisions/{id}/revoke": {"post": op("Revoke an issued decision (effect now or past); a published one is withdrawn at once", "decisions",
      [AG, ID], body({"type": "object", "additionalProperties": False, "required": ["reason"], "properties": {
          "reason": {"type": "string"}, "effectiveAt": {"type": "string", "format": "date-time"}}}),
      ok(ref("Decision")), errs(400, 401, 403, 404, 409, 422))},
  A + "/decisions/{id}/withdraw": {"post": op("Withdraw a revoked publication and push the withdrawal upward", "decisions",
      [AG, ID], body({"type": "object", "additionalProperties": False, "properties": {"reason": {"type": "string"}}}, False),
      ok(ref("Decision")), errs(400, 401, 403, 404, 409))},
  A + "/decisions/{id}/review": {"get": op("The legal review and its steps", "review", [AG, ID], resp=ok(ref("Review")))},
  A + "/decisions/{id}/review/submit": {"post": op("Submit a draft for legal review", "review", [AG, ID], body(ref("StepInput")),
      ok(ref("Review")), errs(400, 401, 403, 404, 409))},
  A + "/decisions/{id}/review/opinion": {"post": op("Reviewer's opinion with its checklist: approve, issues_found, transfer or not_major (reviewer role)", "review",
      [AG, ID], body({"type": "object", "additionalProperties": False, "required": ["outcome", "opinion", "reviewerId", "checklist"], "properties": {
          "outcome": {"type": "string", "enum": ["approve", "issues_found", "transfer", "not_major"]}, "opinion": {"type": "string"},
          "reviewerId": {"type": "string", "format": "uuid", "description": "The token's own person: a legal reviewer with a valid certificate (and the legal professional qualification for penalties)"},
          "checklist": ref("Checklist")}}),
      ok(ref("Review")), errs(400, 401, 403, 404, 409, 422))},
  A + "/decisions/{id}/review/resubmit": {"post": op("Resubmit after revision", "review", [AG, ID], body(ref("StepInput")),
      ok(ref("Review")), errs(400, 401, 403, 404, 409))},
  A + "/decisions/{id}/review/disagree": {"post": op("Dispute the issues found: the units negotiate first", "review",
      [AG, ID], body(ref("StepInput")), ok(ref("Review")), errs(400, 401, 403, 404, 409))},
  A + "/decisions/{id}/review/negotiation": {"post": op("Outcome of the negotiation: revise, issues_withdrawn (reviewer) or failed (to collective discussion)", "review",
      [AG, ID], body({"type": "object", "additionalProperties": False, "required": ["outcome", "opinion"], "properties": {
          "outcome": {"type": "string", "enum": ["revise", "issues_withdrawn", "failed"]}, "opinion": {"type": "string"},
          "reviewerId": {"type": "string", "format": "uuid"}}}), ok(ref("Review")), errs(400, 401, 403, 404, 409, 422))},
  A + "/decisions/{id}/review/close": {"post": op("Close the draft (after issues found, a transfer or a rejecting collective decision)", "review",
      [AG, ID], body(ref("StepInput")), ok(ref("Review")), errs(400, 401, 403, 404, 409))},
  A + "/decisions/{id}/review/collective-decision": {"post": op("Collective discussion outcome (agency_admin)", "review",
      [AG, ID], body({"type": "object", "additionalProperties": False, "required": ["outcome", "opinion"], "properties": {
          "outcome": {"type": "string", "enum": ["approve", "reject"]}, "opinion": {"type": "string"}}}),
      ok(ref("Review")), errs(400, 401, 403, 404, 409))},
  A + "/milestones": {
      "get": op("Supervision milestone occurrences reported done", "milestones", [AG]),
      "post": op("Report a supervision milestone occurrence done (sanxiang_milestone_completed)", "milestones", [AG],
          body({"type": "object", "additionalProperties": False, "required": ["plan", "milestone", "due"], "properties": {
              "plan": {"type": "string", "description": "SupervisionPlan name"}, "milestone": {"type": "string"},
              "due": {"type": "string", "format": "date", "description": "Due date of the occurrence"},
              "note": {"type": "string"}}}),
          ok({"type": "object"}, "201", "Created"), errs(400, 401, 403, 404, 409))},
  A + "/deadlines": {"get": op("Compute a disclosure due date (nothing written)", "decisions",
      [AG, q("category", "Category (required)"), q("decidedOn", "Decision date (default today)", fmt="date")],
      resp=ok({"type": "object", "properties": {"category": {"type": "string"}, "decidedOn": {"type": "string", "format": "date"},
          "workingDays": {"type": "integer"}, "disclosureDue": {"type": "string", "format": "date"},
          "overrideLegalBasis": {"type": "string", "nullable": True}}}), errors=errs(400, 401, 403, 404, 422))},
  A + "/statistics/{year}": {
      "get": op("Annual statistics (reported, or computed so far)", "statistics", [AG, YEAR], resp=ok(ref("Statistics"))),
      "post": op("Report a finished year's statistics (computed + manual entries with source; correctionReason files a new version) and push them upward (agency_admin)", "statistics", [AG, YEAR],
          body({"type": "object", "additionalProperties": False, "properties": {
              "manual": {"type": "object", "additionalProperties": {"type": "object"}, "description": "Per category: decisions, general, simple, published, revoked"},
              "source": {"type": "string"}, "correctionReason": {"type": "string"}}}, False),
          resp=ok(ref("Statistics"), "201", "Created"), errors=errs(400, 401, 403, 404, 409, 422))},
}

schemas.update(openapi_prepublication.SCHEMAS)
paths.update(openapi_prepublication.paths(A))

doc = {
  "openapi": "3.0.3",
  "info": {"title": "Sanxiang tenant service", "version": "0.1.0",
           "description": "Three systems of administrative law enforcement: personnel list, full-process record, legal review, decisions and disclosure. Errors are JSON {error, field}. A token that may not access an agency gets 403 whether or not the agency exists."},
  "servers": [{"url": "/"}],
  "paths": paths,
  "components": {"schemas": schemas, "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
      "description": "Claims: sub, role (officer|reviewer|agency_admin|city_supervisor|county_supervisor|province_supervisor|market_regulator), agency, city, county, province, exp"}}},
}
out = os.environ.get("SANXIANG_OPENAPI_OUT") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "openapi.json")
with open(out, "w") as f:
    json.dump(doc, f, ensure_ascii=False, indent=2)
    f.write("\n")
