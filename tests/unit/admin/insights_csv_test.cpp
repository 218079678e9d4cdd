// The insights CSV export (GET /api/insights?format=csv): what a spreadsheet receives.
#include "admin/insights_api.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace waflow::core::admin {
namespace {

using Json = nlohmann::json;

TEST(InsightsCsv, CustomerTextCannotBecomeAFormulaButNumbersStayNumbers) {
  const std::vector<Json> rows = {Json::parse(R"json({
      "at": 1764547200000, "channel": "toko", "contact": "6281200000001", "kind": "profile",
      "flow": "lead", "step": "ask_name", "source": "ai",
      "data": {"name": "=HYPERLINK(\"http://evil.example\",\"klik\")", "budget": -250000,
               "score": 0.5, "note": "+62 812", "email": "@budi", "answer": "-5",
               "tags": ["-a"], "plain": "Budi, Jakarta"}})json")};
  const std::string csv = insightsCsv(rows);
  EXPECT_EQ(csv,
            "at,channel,contact,kind,flow,step,source,answer,budget,email,name,note,plain,score,"
            "tags\r\n"
            "2025-12-01T00:00:00Z,toko,6281200000001,profile,lead,ask_name,ai,'-5,-250000,"
            "'@budi,\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"klik\"\")\",'+62 812,"
            "\"Budi, Jakarta\",0.5,\"[\"\"-a\"\"]\"\r\n");
}

TEST(InsightsCsv, FormulaInAColumnNameOrAFixedFieldIsNeutralisedToo) {
  const std::vector<Json> rows = {Json::parse(R"({
      "at": 0, "channel": "toko", "contact": "=1+1", "kind": "k", "flow": "f", "step": "s",
      "source": "rule", "data": {"@cmd": 1}})")};
  EXPECT_EQ(insightsCsv(rows),
            "at,channel,contact,kind,flow,step,source,'@cmd\r\n"
            "1970-01-01T00:00:00Z,toko,'=1+1,k,f,s,rule,1\r\n");
}

}  // namespace
}  // namespace waflow::core::admin
