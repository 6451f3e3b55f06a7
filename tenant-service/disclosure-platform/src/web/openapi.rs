//! The OpenAPI 3.0 document of the JSON API (served at `/api/v1/openapi.json`). A router
//! test checks that every path here is routed and every routed API path is here.

use serde_json::{Value, json};

fn param(name: &str, description: &str, schema: Value) -> Value {
    json!({"name": name, "in": "query", "required": false, "description": description, "schema": schema})
}

fn string() -> Value {
    json!({"type": "string"})
}

fn responses(ok: &str) -> Value {
    json!({
        "200": {"description": ok},
        "304": {"description": "Not modified (If-None-Match matched the ETag)"},
        "400": {"description": "A parameter is invalid; `parameter` names it",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}}},
        "404": {"description": "Not found",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}}},
        "429": {"description": "Rate limit of this client exceeded (Retry-After given)",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}}},
    })
}

fn page_responses(ok: &str) -> Value {
    let mut r = responses(ok);
    r["200"]["content"] =
        json!({"application/json": {"schema": {"$ref": "#/components/schemas/DecisionPage"}}});
    r
}

/// API paths (also checked against the router).
pub const PATHS: [&str; 6] = [
    "/api/v1/decisions",
    "/api/v1/decisions/{id}",
    "/api/v1/withdrawals",
    "/api/v1/agencies",
    "/api/v1/agencies/{name}",
    "/api/v1/openapi.json",
];

pub fn document() -> Value {
    let cursor = param(
        "cursor",
        "Keyset cursor: the `next` of the previous page",
        string(),
    );
    let limit = param(
        "limit",
        "Page size, 1-100 (default 20)",
        json!({"type": "integer", "minimum": 1, "maximum": 100}),
    );
    let code = json!({"type": "string", "pattern": "^[1-9][0-9]{5}$"});
    let search_params = json!([
        param(
            "q",
            "Chinese full text (words or any substring of 2+ Han characters); at most 100 characters. Every space-separated word must occur.",
            json!({"type": "string", "maxLength": 100})
        ),
        param("city", "City code (GB/T 2260)", code.clone()),
        param("county", "County code (GB/T 2260)", code.clone()),
        param(
            "agency",
            "Agency: name, official name (or part of it) or unified social credit code",
            string()
        ),
        param(
            "category",
            "Enforcement category",
            json!({"type": "string", "enum": crate::labels::category_codes().collect::<Vec<_>>()})
        ),
        param(
            "procedure",
            "Procedure",
            json!({"type": "string", "enum": ["simple", "general"]})
        ),
        param(
            "from",
            "Decided on or after (YYYY-MM-DD)",
            json!({"type": "string", "format": "date"})
        ),
        param(
            "to",
            "Decided on or before (YYYY-MM-DD)",
            json!({"type": "string", "format": "date"})
        ),
        param("party", "Unified social credit code of the party", string()),
        param(
            "documentNumber",
            "Exact document number (决定书文号)",
            string()
        ),
        param(
            "sort",
            "newest (default) or relevance (with q)",
            json!({"type": "string", "enum": ["newest", "relevance"]})
        ),
        cursor.clone(),
        limit.clone(),
    ]);
    let mut agency_responses = responses("The agency");
    agency_responses["200"]["content"] =
        json!({"application/json": {"schema": {"$ref": "#/components/schemas/Agency"}}});
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "Sanxiang disclosure platform (行政执法信息公示平台) public API",
            "version": "1",
            "description": "Redacted publications of administrative enforcement decisions of one province, withdrawal notices, the directory of agencies and their annual statistics. No authentication; rate limited per client. Pagination is by keyset cursor.",
        },
        "paths": {
            "/api/v1/decisions": {"get": {
                "summary": "Search published decisions (newest first by default)",
                "parameters": search_params,
                "responses": page_responses("A page of decisions"),
            }},
            "/api/v1/decisions/{id}": {"get": {
                "summary": "One decision; a withdrawn one shows only its withdrawal notice",
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}}],
                "responses": responses("The decision"),
            }},
            "/api/v1/withdrawals": {"get": {
                "summary": "Withdrawal notices, newest first",
                "parameters": [param("agency", "Agency name", string()), cursor, limit],
                "responses": page_responses("A page of withdrawn decisions"),
            }},
            "/api/v1/agencies": {"get": {
                "summary": "The directory of agencies",
                "parameters": [param("city", "City code", code.clone()), param("county", "County code", code)],
                "responses": responses("Agencies with their places"),
            }},
            "/api/v1/agencies/{name}": {"get": {
                "summary": "One agency with its annual statistics, its lists published before enforcement (事前公开): per list the version in force on `on`, and every version with its period, and the results of its random inspections (双随机 抽查情况及查处结果, `inspections`, newest first, at most 200). `decisions` counts the decisions its retention still shows.",
                "parameters": [{"name": "name", "in": "path", "required": true, "schema": string()},
                    param("on", "Date YYYY-MM-DD (default today, China time): which version of each list is shown", json!({"type": "string", "format": "date"}))],
                "responses": agency_responses,
            }},
            "/api/v1/openapi.json": {"get": {
                "summary": "This document",
                "responses": {"200": {"description": "OpenAPI document"}},
            }},
        },
        "components": {"schemas": {
            "Agency": {"type": "object", "properties": {
                "agency": {"type": "object", "description": "name, displayName, creditCode"},
                "place": {"type": "object", "nullable": true},
                "categories": {"type": "array", "items": string()},
                "decisions": {"type": "integer", "description": "Published decisions shown (retention applied)"},
                "decisionsUrl": string(),
                "prepublication": {"type": "object", "description": "on, lists"},
                "inspections": {"type": "array", "items": {"$ref": "#/components/schemas/InspectionResults"}},
                "statistics": {"type": "array", "items": {"type": "object"}},
            }},
            "DecisionPage": {"type": "object", "required": ["items"], "properties": {
                "total": {"type": "integer", "nullable": true, "description": format!(
                    "Matching decisions, on the first page only (null on later pages). Decision searches count up to {}: when `totalExact` is false, more than `total` match",
                    crate::search::COUNT_LIMIT)},
                "totalExact": {"type": "boolean", "nullable": true, "description": "Whether `total` is the exact number (false: a lower bound, more match)"},
                "items": {"type": "array", "items": {"type": "object", "description": "A decision as `/api/v1/decisions/{id}` shows it"}},
                "next": {"type": "string", "nullable": true, "description": "Cursor of the next page (absent: the last page)"},
            }},
            "InspectionResults": {"type": "object",
                "description": "The published results of one random-inspection draw (双随机). Public fields only: no seed, candidate pools or inspectors.",
                "required": ["draw", "item", "listVersion", "targetPool", "publishedAt", "results"],
                "properties": {
                    "draw": {"type": "string", "format": "uuid"},
                    "item": {"type": "string", "description": "Code of the item of the random-inspection list"},
                    "itemName": {"type": "string", "description": "The item's name in the list version (when published here)"},
                    "inspector": {"type": "string", "description": "抽查主体, from the list version"},
                    "legalBasis": {"type": "string", "description": "From the list version"},
                    "listVersion": {"type": "integer", "description": "Version of the random-inspection list drawn from"},
                    "targetPool": {"type": "integer", "description": "Targets the draw chose from"},
                    "publishedAt": {"type": "string", "format": "date-time"},
                    "results": {"type": "array", "items": {"type": "object",
                        "required": ["target", "outcome", "handling"], "properties": {
                            "target": {"type": "string", "description": "检查对象"},
                            "outcome": {"type": "string", "description": "抽查情况"},
                            "handling": {"type": "string", "description": "查处结果 (empty: none)"},
                        }}},
                }},
            "Problem": {"type": "object", "required": ["error", "status"], "properties": {
                "error": {"type": "string", "description": "Message in Chinese"},
                "parameter": {"type": "string", "nullable": true, "description": "The parameter at fault"},
                "status": {"type": "integer"},
            }},
        }},
    })
}
