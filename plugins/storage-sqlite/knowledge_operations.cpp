#include "knowledge_operations.h"

#include "operation_support.h"

#include <waflow/sdk/storage.hpp>
#include <waflow/sdk/types.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <string>
#include <vector>

namespace waflow::storage_sqlite {
namespace {

namespace st = waflow::storage;

// ---- embeddings as float32 BLOBs ---------------------------------------------------------

// The embedding's numbers as float32 in the machine's byte order (little-endian on every
// platform waflow builds for).
std::string packEmbedding(const Json& numbers) {
  std::string bytes(numbers.size() * sizeof(float), '\0');
  for (std::size_t i = 0; i < numbers.size(); ++i) {
    float f = static_cast<float>(numbers[i].get<double>());
    std::memcpy(bytes.data() + i * sizeof(float), &f, sizeof(float));
  }
  return bytes;
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  return c - 'A' + 10;  // hex() writes upper case
}

// Appends a JSON array of the float32 values whose bytes hex() returned, each written as the
// shortest text that reads back as the same float.
void appendEmbedding(std::string& out, const std::string& hex) {
  out += '[';
  char buffer[32];
  for (std::size_t i = 0; i + 2 * sizeof(float) <= hex.size(); i += 2 * sizeof(float)) {
    unsigned char raw[sizeof(float)];
    for (std::size_t k = 0; k < sizeof(float); ++k) {
      raw[k] =
          static_cast<unsigned char>(hexValue(hex[i + 2 * k]) * 16 + hexValue(hex[i + 2 * k + 1]));
    }
    float f = 0;
    std::memcpy(&f, raw, sizeof(float));
    auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), f);
    if (i > 0) {
      out += ',';
    }
    out.append(buffer, ec == std::errc() ? end : buffer);
  }
  out += ']';
}

// ---- kb.documents --------------------------------------------------------------------

void validateKbDocuments(const Json& in) {
  Fields(st::kKbDocuments, in).string("knowledge");
}

constexpr const char* kSelectDocuments =
    "SELECT path, checksum, chunks, indexed_at FROM kb_documents WHERE knowledge = ?1 "
    "ORDER BY path";

Json runKbDocuments(Db& db, const Json& in) {
  Json documents = Json::array();
  Stmt s = db.prepare(kSelectDocuments);
  s.bindRef(1, str(in, "knowledge"));
  while (s.step()) {
    documents.push_back({{"path", s.text(0)},
                         {"checksum", s.text(1)},
                         {"chunks", s.int64(2)},
                         {"indexed_at", s.int64(3)}});
  }
  return {{"documents", std::move(documents)}};
}

// ---- kb.put / kb.delete ----------------------------------------------------------------

void validateKbPut(const Json& in) {
  Fields f(st::kKbPut, in);
  f.string("knowledge");
  f.string("path");
  f.string("checksum");
  f.array("chunks", [](const Fields& c) {
    c.string("title", false);
    c.string("text");
    c.string("title_terms", false);
    c.string("terms", false);
  });
  // An embedding is an array of numbers, which Fields (objects and strings) does not cover.
  const Json& chunks = in.at("chunks");
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    auto it = chunks[i].find("embedding");
    if (it == chunks[i].end() || it->is_null()) {
      continue;
    }
    const std::string where =
        std::string(st::kKbPut) + ": chunks[" + std::to_string(i) + "].embedding";
    if (!it->is_array() || it->empty()) {
      throw waflow::Error(waflow::Rc::kInvalid, where + " must be a non-empty array of numbers");
    }
    for (const Json& x : *it) {
      if (!x.is_number()) {
        throw waflow::Error(waflow::Rc::kInvalid, where + " must hold only numbers");
      }
    }
  }
}

constexpr const char* kDeleteChunks = "DELETE FROM kb_chunks WHERE knowledge = ?1 AND path = ?2";
constexpr const char* kDeleteDocument =
    "DELETE FROM kb_documents WHERE knowledge = ?1 AND path = ?2";
// The embedding arrives as the float32 bytes bound as text; CAST makes it a BLOB without
// touching the bytes (the database is UTF-8, so nothing is converted on the way in).
constexpr const char* kInsertChunk =
    "INSERT INTO kb_chunks (knowledge, path, ord, title, text, title_terms, terms, embedding) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, CAST(?8 AS BLOB))";
constexpr const char* kUpsertDocument =
    "INSERT INTO kb_documents (knowledge, path, checksum, chunks, indexed_at) "
    "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (knowledge, path) DO UPDATE SET "
    "checksum = excluded.checksum, chunks = excluded.chunks, indexed_at = excluded.indexed_at";

void runKbPut(Db& db, const Json& in, std::string& out) {
  const std::string& knowledge = str(in, "knowledge");
  const std::string& path = str(in, "path");
  {
    Stmt s = db.prepare(kDeleteChunks);
    s.bindRef(1, knowledge).bindRef(2, path).run();
  }
  const Json& chunks = in.at("chunks");
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    const Json& c = chunks[i];
    std::string embedding;
    auto e = c.find("embedding");
    bool has_embedding = e != c.end() && !e->is_null();
    if (has_embedding) {
      embedding = packEmbedding(*e);
    }
    Stmt s = db.prepare(kInsertChunk);
    s.bindRef(1, knowledge)
        .bindRef(2, path)
        .bind(3, static_cast<int64_t>(i))
        .bindRef(4, str(c, "title"))
        .bindRef(5, str(c, "text"))
        .bindRef(6, str(c, "title_terms"))
        .bindRef(7, str(c, "terms"));
    if (has_embedding) {
      s.bindRef(8, embedding);
    } else {
      s.bindNull(8);
    }
    s.run();
  }
  Stmt d = db.prepare(kUpsertDocument);
  d.bindRef(1, knowledge)
      .bindRef(2, path)
      .bindRef(3, str(in, "checksum"))
      .bind(4, static_cast<int64_t>(chunks.size()))
      .bind(5, nowMs())
      .run();
  out += "{}";
}

void validateKbDelete(const Json& in) {
  Fields f(st::kKbDelete, in);
  f.string("knowledge");
  f.string("path");
}

void runKbDelete(Db& db, const Json& in, std::string& out) {
  const std::string& knowledge = str(in, "knowledge");
  const std::string& path = str(in, "path");
  {
    Stmt s = db.prepare(kDeleteChunks);
    s.bindRef(1, knowledge).bindRef(2, path).run();
  }
  Stmt s = db.prepare(kDeleteDocument);
  s.bindRef(1, knowledge).bindRef(2, path).run();
  out += db.changes() > 0 ? "{\"deleted\":true}" : "{\"deleted\":false}";
}

// ---- kb.retain -------------------------------------------------------------------------

void validateKbRetain(const Json& in) {
  Fields(st::kKbRetain, in).strings("knowledge");
}

constexpr const char* kSelectKnowledgeIds =
    "SELECT knowledge, COUNT(*) FROM kb_documents GROUP BY knowledge ORDER BY knowledge";
constexpr const char* kDeleteKnowledgeChunks = "DELETE FROM kb_chunks WHERE knowledge = ?1";
constexpr const char* kDeleteKnowledgeDocuments = "DELETE FROM kb_documents WHERE knowledge = ?1";

void runKbRetain(Db& db, const Json& in, std::string& out) {
  const Json& keep = in.at("knowledge");
  std::vector<std::pair<std::string, int64_t>> gone;
  {
    Stmt s = db.prepare(kSelectKnowledgeIds);
    while (s.step()) {
      std::string id = s.text(0);
      if (std::find(keep.begin(), keep.end(), Json(id)) == keep.end()) {
        gone.emplace_back(std::move(id), s.int64(1));
      }
    }
  }
  out += R"({"removed":[)";
  for (std::size_t i = 0; i < gone.size(); ++i) {
    const auto& [id, documents] = gone[i];
    db.prepare(kDeleteKnowledgeChunks).bindRef(1, id).run();
    db.prepare(kDeleteKnowledgeDocuments).bindRef(1, id).run();
    if (i > 0) {
      out += ',';
    }
    out += R"({"knowledge":)";
    appendString(out, id);
    out += R"(,"documents":)" + std::to_string(documents) + '}';
  }
  out += "]}";
}

// ---- kb.search -------------------------------------------------------------------------

void validateKbSearch(const Json& in) {
  Fields f(st::kKbSearch, in);
  const Json& knowledge = in.contains("knowledge") ? in.at("knowledge") : Json();
  if (knowledge.is_array()) {
    f.strings("knowledge");
    if (knowledge.empty()) {
      f.invalid("knowledge", "must name at least one knowledge id");
    }
  } else {
    f.string("knowledge");
  }
  f.strings("terms", false);
  f.integer("limit", 1, 1000);
}

// A term FTS5 can match: it has a letter or digit (anything else tokenises to nothing).
bool searchable(const std::string& term) {
  for (char c : term) {
    auto u = static_cast<unsigned char>(c);
    if (u >= 0x80 || (u >= '0' && u <= '9') || (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z')) {
      return true;
    }
  }
  return false;
}

// "t1" OR "t2" ...: each term a quoted string (quotes doubled), so no term is read as FTS5
// syntax (AND, NEAR, column filters, prefixes).
std::string matchExpression(const Json& terms) {
  std::string out;
  for (const Json& t : terms) {
    const std::string& term = t.get_ref<const std::string&>();
    if (!searchable(term)) {
      continue;
    }
    if (!out.empty()) {
      out += " OR ";
    }
    out += '"';
    for (char c : term) {
      if (c == '"') {
        out += '"';
      }
      out += c;
    }
    out += '"';
  }
  return out;
}

// bm25() weights: title_terms 3, terms 1. kb_fts is external-content over kb_chunks (rowid =
// kb_chunks.id). The knowledge ids arrive as a JSON array.
constexpr const char* kSearch =
    "SELECT c.id, c.knowledge, c.path, c.title, c.text, bm25(kb_fts, 3.0, 1.0) AS rank "
    "FROM kb_fts JOIN kb_chunks c ON c.id = kb_fts.rowid "
    "WHERE kb_fts MATCH ?1 AND c.knowledge IN (SELECT value FROM json_each(?2)) "
    "ORDER BY rank, c.id LIMIT ?3";

double rankColumn(const Stmt& s, int column) {
  // Stmt reads integers and text; the REAL rank comes back through its text form.
  return std::stod(s.text(column));
}

void runKbSearch(Db& db, const Json& in, std::string& out) {
  std::string match = matchExpression(in.at("terms"));
  if (match.empty()) {
    out += "{\"passages\":[]}";
    return;
  }
  const Json& knowledge = in.at("knowledge");
  std::string ids = knowledge.is_array() ? knowledge.dump() : Json::array({knowledge}).dump();
  Stmt s = db.prepare(kSearch);
  s.bindRef(1, match).bindRef(2, ids).bind(3, num(in, "limit"));
  out += "{\"passages\":[";
  bool first = true;
  while (s.step()) {
    if (!first) {
      out += ',';
    }
    first = false;
    out += "{\"id\":" + std::to_string(s.int64(0)) + ",\"knowledge\":";
    appendString(out, s.text(1));
    out += ",\"path\":";
    appendString(out, s.text(2));
    out += ",\"title\":";
    appendString(out, s.text(3));
    out += ",\"text\":";
    appendString(out, s.text(4));
    out += ",\"score\":" + Json(-rankColumn(s, 5)).dump() + "}";
  }
  out += "]}";
}

// ---- kb.vectors ------------------------------------------------------------------------

void validateKbVectors(const Json& in) {
  Fields(st::kKbVectors, in).string("knowledge");
}

constexpr const char* kSelectVectors =
    "SELECT id, path, title, text, hex(embedding) FROM kb_chunks "
    "WHERE knowledge = ?1 AND embedding IS NOT NULL ORDER BY id";

void runKbVectors(Db& db, const Json& in, std::string& out) {
  Stmt s = db.prepare(kSelectVectors);
  s.bindRef(1, str(in, "knowledge"));
  out += "{\"vectors\":[";
  bool first = true;
  while (s.step()) {
    if (!first) {
      out += ',';
    }
    first = false;
    out += "{\"id\":" + std::to_string(s.int64(0)) + ",\"path\":";
    appendString(out, s.text(1));
    out += ",\"title\":";
    appendString(out, s.text(2));
    out += ",\"text\":";
    appendString(out, s.text(3));
    out += ",\"embedding\":";
    appendEmbedding(out, s.text(4));
    out += '}';
  }
  out += "]}";
}

const std::array<Operation, 6> kKnowledgeOperations = {{
    {st::kKbDocuments, &validateKbDocuments, &dumped<&runKbDocuments>},
    {st::kKbPut, &validateKbPut, &runKbPut},
    {st::kKbDelete, &validateKbDelete, &runKbDelete},
    {st::kKbRetain, &validateKbRetain, &runKbRetain},
    {st::kKbSearch, &validateKbSearch, &runKbSearch},
    {st::kKbVectors, &validateKbVectors, &runKbVectors},
}};

}  // namespace

std::span<const Operation> knowledgeOperations() {
  return kKnowledgeOperations;
}

}  // namespace waflow::storage_sqlite
