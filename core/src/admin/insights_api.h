// The admin API's read side of AI results (docs/ai.md#insights): GET /api/insights lists the
// stored classifications (JSON, or CSV for spreadsheets) and GET /api/usage sums token usage
// and cost. Both only read storage (insight.list, usage.summary); the caller checks the token.
//
// Thread-safety: stateless; `respond` is called once, from the storage's completion thread.
#pragma once

#include "http_server/http_types.h"
#include "storage/storage_client.h"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace waflow::core::admin {

// GET /api/insights?channel=&contact=&kind=&flow=&since=&until=&limit=&after=&format=json|csv
// since/until are Unix milliseconds or ISO dates (2026-11-01). JSON pages with `next`; CSV
// holds every matching insight (up to `limit`, default 100,000), one column per data field.
void serveInsights(storage::StorageClient& storage, const httpd::HttpRequest& request,
                   httpd::Respond respond);

// GET
// /api/usage?group_by=flow|contact|provider|model|day|none&channel=&contact=&flow=&since=&until=
void serveUsage(storage::StorageClient& storage, const httpd::HttpRequest& request,
                httpd::Respond respond);

// Insights as CSV (RFC 4180): at (UTC, ISO 8601), channel, contact, kind, flow, step, source,
// then one column per data field, sorted by name. Exposed for tests.
std::string insightsCsv(const std::vector<nlohmann::json>& insights);

}  // namespace waflow::core::admin
