#include "admin/insights_api.h"

#include "storage/storage_client.h"
#include "text/csv.h"

#include <fmt/format.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <optional>
#include <set>

namespace waflow::core::admin {

using Json = nlohmann::json;

namespace {

httpd::HttpResponse badRequest(const std::string& message) {
  return httpd::HttpResponse::json(400, Json{{"error", message}}.dump());
}

// Unix milliseconds from "1764547200000" or an ISO date "2026-12-01" (UTC midnight).
std::optional<int64_t> parseTime(const std::string& text) {
  if (text.empty()) {
    return std::nullopt;
  }
  if (text.find('-') == std::string::npos) {
    char* end = nullptr;
    long long v = std::strtoll(text.c_str(), &end, 10);
    if (end != nullptr && *end == '\0') {
      return v;
    }
    return std::nullopt;
  }
  std::tm tm{};
  if (strptime(text.c_str(), "%Y-%m-%d", &tm) == nullptr) {
    return std::nullopt;
  }
  return static_cast<int64_t>(timegm(&tm)) * 1000;
}

// Copies the common filters (channel, contact, flow, kind, since, until) from the query into
// `input`; false with `error` set when a time is unreadable.
bool addFilters(const httpd::HttpRequest& request, Json& input, std::string& error,
                std::initializer_list<const char*> names) {
  for (const char* name : names) {
    if (auto v = request.queryParam(name); v && !v->empty()) {
      input[name] = *v;
    }
  }
  for (const char* name : {"since", "until"}) {
    if (auto v = request.queryParam(name); v && !v->empty()) {
      auto t = parseTime(*v);
      if (!t) {
        error = fmt::format("{}: '{}' is neither Unix milliseconds nor a date like 2026-11-01",
                            name, *v);
        return false;
      }
      input[name] = *t;
    }
  }
  return true;
}

std::string isoTime(int64_t ms) {
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// Reads pages of insight.list until `wanted` rows or the end, then answers.
struct CsvExport {
  storage::StorageClient* storage;
  Json input;
  size_t wanted;
  std::vector<Json> rows;
  httpd::Respond respond;
};

void readPage(std::shared_ptr<CsvExport> job) {
  job->input["limit"] = std::min<size_t>(1000, job->wanted - job->rows.size());
  job->storage->call(
      waflow::storage::kInsightList, job->input, [job](const plugin::CallOutcome& o, Json out) {
        if (!o.ok()) {
          job->respond(
              httpd::HttpResponse::json(o.rc == waflow::Rc::kInvalid ? 400 : 503,
                                        Json{{"error", "insight.list: " + o.error}}.dump()));
          return;
        }
        for (Json& row : out["insights"]) {
          job->rows.push_back(std::move(row));
        }
        const Json& next = out["next"];
        if (next.is_number_integer() && job->rows.size() < job->wanted) {
          job->input["after_seq"] = next;
          readPage(job);
          return;
        }
        httpd::HttpResponse r;
        r.status = 200;
        r.content_type = "text/csv; charset=utf-8";
        r.headers.emplace_back("Content-Disposition", "attachment; filename=\"insights.csv\"");
        r.body = insightsCsv(job->rows);
        job->respond(std::move(r));
      });
}

}  // namespace

std::string insightsCsv(const std::vector<Json>& insights) {
  std::set<std::string> columns;
  for (const Json& row : insights) {
    const Json data = row.value("data", Json::object());
    for (const auto& [key, _] : data.items()) {
      columns.insert(key);
    }
  }
  std::string out = "at,channel,contact,kind,flow,step,source";
  for (const auto& c : columns) {
    out += "," + text::csvText(c);
  }
  out += "\r\n";
  for (const Json& row : insights) {
    out += isoTime(row.value("at", int64_t{0}));
    for (const char* key : {"channel", "contact", "kind", "flow", "step", "source"}) {
      out += "," + text::csvText(row.value(key, std::string()));
    }
    const Json data = row.value("data", Json::object());
    for (const auto& c : columns) {
      out += ",";
      // Numbers the flow recorded as numbers stay numbers (a negative score too); every text,
      // including one that looks like a number, is neutralised against formulas.
      if (auto it = data.find(c); it != data.end() && !it->is_null()) {
        out += it->is_number()   ? text::csvNumber(it->dump())
               : it->is_string() ? text::csvText(it->get<std::string>())
                                 : text::csvText(it->dump());
      }
    }
    out += "\r\n";
  }
  return out;
}

void serveInsights(storage::StorageClient& storage, const httpd::HttpRequest& request,
                   httpd::Respond respond) {
  Json input = Json::object();
  std::string error;
  if (!addFilters(request, input, error, {"channel", "contact", "kind", "flow"})) {
    return respond(badRequest(error));
  }
  const std::string format = request.queryParam("format").value_or("json");
  if (format != "json" && format != "csv") {
    return respond(badRequest("format: '" + format + "' is not json or csv"));
  }
  long long limit = format == "csv" ? 100000 : 100;
  if (auto v = request.queryParam("limit"); v && !v->empty()) {
    char* end = nullptr;
    limit = std::strtoll(v->c_str(), &end, 10);
    if (end == nullptr || *end != '\0' || limit < 1 || limit > 1000000) {
      return respond(badRequest("limit: give a number from 1 to 1000000"));
    }
  }
  if (auto v = request.queryParam("after"); v && !v->empty()) {
    input["after_seq"] = std::strtoll(v->c_str(), nullptr, 10);
  }
  if (format == "csv") {
    auto job = std::make_shared<CsvExport>(
        CsvExport{&storage, std::move(input), static_cast<size_t>(limit), {}, std::move(respond)});
    readPage(std::move(job));
    return;
  }
  input["limit"] = std::min<long long>(limit, 1000);
  storage.call(waflow::storage::kInsightList, input,
               [respond = std::move(respond)](const plugin::CallOutcome& o, Json out) {
                 if (!o.ok()) {
                   return respond(httpd::HttpResponse::json(
                       o.rc == waflow::Rc::kInvalid ? 400 : 503,
                       Json{{"error", "insight.list: " + o.error}}.dump()));
                 }
                 respond(httpd::HttpResponse::json(200, out.dump()));
               });
}

void serveUsage(storage::StorageClient& storage, const httpd::HttpRequest& request,
                httpd::Respond respond) {
  Json input = {{"group_by", request.queryParam("group_by").value_or("flow")}};
  std::string error;
  if (!addFilters(request, input, error, {"channel", "contact", "flow"})) {
    return respond(badRequest(error));
  }
  storage.call(waflow::storage::kUsageSummary, input,
               [respond = std::move(respond)](const plugin::CallOutcome& o, Json out) {
                 if (!o.ok()) {
                   return respond(httpd::HttpResponse::json(
                       o.rc == waflow::Rc::kInvalid ? 400 : 503,
                       Json{{"error", "usage.summary: " + o.error}}.dump()));
                 }
                 respond(httpd::HttpResponse::json(200, out.dump()));
               });
}

}  // namespace waflow::core::admin
