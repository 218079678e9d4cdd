#include "config/schema_validator.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <optional>

#include "config/units.h"
#include "diag/closest_match.h"
#include "regex/user_regex.h"
#include "text/ascii.h"

namespace waflow::core::config {
namespace {

using nlohmann::json;

// A value as JSON text for a message. Invalid UTF-8 (a ${file:} or ${ENV} value, a plugin's
// schema) becomes U+FFFD instead of throwing out of the validator.
std::string jsonText(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

// A position in the file: 1-based line and column, token length (0 = unknown).
struct Where {
  int line = 0;
  int column = 0;
  int length = 0;
};

int codePoints(std::string_view text) {
  int n = 0;
  for (char c : text) {
    n += (static_cast<unsigned char>(c) & 0xC0) == 0x80 ? 0 : 1;
  }
  return n;
}

bool isPlain(const YAML::Node& node) {
  return node.Tag() == "?";
}

std::string joinPath(std::string_view path, std::string_view key) {
  if (path.empty()) {
    return std::string(key);
  }
  return std::string(path) + "." + std::string(key);
}

std::string prefixed(std::string_view path, std::string_view message) {
  if (path.empty()) {
    return std::string(message);
  }
  return std::string(path) + ": " + std::string(message);
}

std::string quote(std::string_view text) {
  return "'" + std::string(text) + "'";
}

std::string joinList(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) {
      out += separator;
    }
    out += items[i];
  }
  return out;
}

std::vector<std::string> schemaTypes(const json& schema) {
  std::vector<std::string> types;
  auto it = schema.find("type");
  if (it == schema.end()) {
    return types;
  }
  if (it->is_string()) {
    types.push_back(it->get<std::string>());
  } else if (it->is_array()) {
    for (const json& t : *it) {
      if (t.is_string()) {
        types.push_back(t.get<std::string>());
      }
    }
  }
  return types;
}

bool allows(const std::vector<std::string>& types, std::string_view type) {
  return std::find(types.begin(), types.end(), type) != types.end();
}

std::string describeType(std::string_view type) {
  if (type == "object") {
    return "a mapping (key: value lines)";
  }
  if (type == "array") {
    return "a list";
  }
  if (type == "string") {
    return "a text";
  }
  if (type == "integer") {
    return "an integer";
  }
  if (type == "number") {
    return "a number";
  }
  if (type == "boolean") {
    return "true or false";
  }
  return std::string(type);
}

std::string describeTypes(const std::vector<std::string>& types) {
  std::vector<std::string> words;
  for (const std::string& t : types) {
    words.push_back(describeType(t));
  }
  return joinList(words, " or ");
}

std::string typeHint(const std::vector<std::string>& types) {
  if (types.size() != 1) {
    return {};
  }
  if (types[0] == "object") {
    return "write the keys on the following lines, indented, or as { key: value }";
  }
  if (types[0] == "array") {
    return "write one '- item' line per item, indented, or [a, b]";
  }
  return {};
}

std::optional<int64_t> parseInteger(std::string_view text) {
  if (!text.empty() && text[0] == '+') {
    text.remove_prefix(1);
  }
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

std::optional<double> parseNumber(std::string_view text) {
  if (!text.empty() && text[0] == '+') {
    text.remove_prefix(1);
  }
  if (text.empty() || text.find_first_of("0123456789") == std::string_view::npos) {
    return std::nullopt;
  }
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(value)) {
    return std::nullopt;
  }
  return value;
}

// YAML 1.2 core schema booleans only: YAML 1.1's yes/no/on/off are deliberately refused.
std::optional<bool> parseBool(std::string_view text) {
  if (text == "true" || text == "True" || text == "TRUE") {
    return true;
  }
  if (text == "false" || text == "False" || text == "FALSE") {
    return false;
  }
  return std::nullopt;
}

bool looksLikeYaml11Bool(std::string_view text) {
  const std::string lower = text::lowerAscii(text);
  return lower == "yes" || lower == "no" || lower == "on" || lower == "off" || lower == "y" ||
         lower == "n";
}

// How a value is named in messages. A secret, and any value that came from ${...}, is
// concealed: messages name the expression, never the value (an operator may point a setting at
// the wrong variable, e.g. `timeout: ${WA_TOKEN}`, and `waflow validate` output gets pasted).
struct Shown {
  std::string text;
  bool concealed = false;
};

// Key names that hold credentials whatever the schema says: a mistyped or duplicated one still
// must not have its value printed.
bool nameLooksSecret(std::string_view name) {
  const std::string lower = text::lowerAscii(name);
  for (std::string_view word : {"token", "secret", "password", "passwd", "api_key", "apikey",
                                "credential", "private_key"}) {
    if (lower.find(word) != std::string::npos) {
      return true;
    }
  }
  return false;
}

bool propertyIsSecret(const json* properties, const std::string& name) {
  if (properties == nullptr) {
    return false;
  }
  auto it = properties->find(name);
  return it != properties->end() && it->is_object() && it->value("secret", false);
}

std::string displayJson(const json& value) {
  if (value.is_string()) {
    return quote(value.get<std::string>());
  }
  return jsonText(value);
}

class Validator {
 public:
  Validator(const SubstitutionContext& subst, std::string_view file, const ValidateOptions& options)
      : subst_(subst), file_(file), options_(options) {}

  std::optional<json> convert(const YAML::Node& node, const json& schema, const std::string& path,
                              const Where& key_where);

  void finish(ValidationResult& result) {
    result.diagnostics = diagnostics_.takeSorted();
    result.secrets = std::move(secrets_);
  }

  Where fallback() const { return Where{options_.fallback_line, options_.fallback_column, 0}; }

 private:
  // The node's own position, or `key_where` when the node has none worth showing (yaml-cpp
  // gives an empty value the position of the next token).
  Where whereOf(const YAML::Node& node, const Where& key_where) const {
    if (!node.IsDefined() || node.IsNull()) {
      return key_where.line > 0 ? key_where : fallback();
    }
    const YAML::Mark mark = node.Mark();
    if (mark.is_null()) {
      return key_where.line > 0 ? key_where : fallback();
    }
    Where where{mark.line + 1, mark.column + 1, 0};
    if (node.IsScalar() && isPlain(node) && node.Scalar().find('\n') == std::string::npos) {
      where.length = codePoints(node.Scalar());
    }
    return where;
  }

  // Collections are easiest to find by their key; scalars by themselves.
  Where collectionWhere(const YAML::Node& node, const Where& key_where) const {
    return key_where.line > 0 ? key_where : whereOf(node, key_where);
  }

  void report(const Where& where, std::string_view kind, std::string message, std::string hint = {},
              diag::Severity severity = diag::Severity::kError) {
    diag::Diagnostic d;
    d.file = file_;
    d.line = where.line;
    d.column = where.column;
    d.length = where.length;
    d.severity = severity;
    d.kind = options_.kind_prefix + "-" + std::string(kind);
    d.message = std::move(message);
    d.hint = std::move(hint);
    diagnostics_.add(std::move(d));
  }

  std::optional<json> convertMap(const YAML::Node& node, const json& schema,
                                 const std::string& path, const Where& key_where);
  std::optional<json> convertSequence(const YAML::Node& node, const json& schema,
                                      const std::string& path, const Where& key_where);
  std::optional<json> convertScalar(const YAML::Node& node, const json& schema,
                                    const std::vector<std::string>& types, const std::string& path,
                                    const Where& key_where, Shown& shown);
  std::optional<json> natural(const YAML::Node& node, const std::string& path,
                              const Where& key_where, bool substitute_strings);
  std::optional<json> defaultValue(const json& property_schema, const std::string& path,
                                   const Where& where);
  bool checkConstraints(const json& value, const json& schema, const std::string& path,
                        const Where& where, const Shown& shown);

  // Runs ${...} substitution on a scalar, reporting errors at the expression when the scalar is
  // plain (so its text is the source text) and at the scalar otherwise.
  std::optional<SubstitutionResult> substituteScalar(const YAML::Node& node, const Where& where,
                                                     const std::string& path);

  // Calls fn(key_node, key_name, key_where, value_node) for each entry of a mapping, reporting
  // non-text and duplicate keys (yaml-cpp keeps duplicates; lookups see the first one, so the
  // later ones are the ones reported and skipped). `properties` (may be null) tells which keys
  // are secret.
  template <typename Fn>
  void forEachEntry(const YAML::Node& map, const std::string& path, const json* properties,
                    Fn&& fn);

  // Keeps the literal value of a key that holds a secret out of diagnostics, though the key is
  // reported rather than converted (mistyped, duplicated): the renderer masks every secret.
  void concealLiteral(const YAML::Node& value) {
    if (value.IsScalar() && value.Scalar().find("${") == std::string::npos) {
      secrets_.push_back(value.Scalar());
    }
  }

  // Inside a schema marked "x-secret-substitutions" (a flow's HTTP headers and body) every
  // ${...} value is a secret, though the key is not marked secret itself.
  struct SecretSubstitutions {
    explicit SecretSubstitutions(Validator& v, bool marked) : v_(v), marked_(marked) {
      v_.secret_substitutions_ += marked_ ? 1 : 0;
    }
    ~SecretSubstitutions() { v_.secret_substitutions_ -= marked_ ? 1 : 0; }
    SecretSubstitutions(const SecretSubstitutions&) = delete;
    SecretSubstitutions& operator=(const SecretSubstitutions&) = delete;
    Validator& v_;
    bool marked_;
  };

  const SubstitutionContext& subst_;
  std::string file_;
  const ValidateOptions& options_;
  diag::DiagnosticList diagnostics_;
  std::vector<std::string> secrets_;
  int secret_substitutions_ = 0;  // depth of schemas marked "x-secret-substitutions"
};

template <typename Fn>
void Validator::forEachEntry(const YAML::Node& map, const std::string& path, const json* properties,
                             Fn&& fn) {
  std::map<std::string, int> first_line;
  for (auto it = map.begin(); it != map.end(); ++it) {
    const YAML::Node key = it->first;
    const Where key_where = whereOf(key, whereOf(map, fallback()));
    if (!key.IsScalar()) {
      report(key_where, "yaml", prefixed(path, "a key must be a plain name, not a list or mapping"),
             "a line starting with '? ' or a key in brackets makes a complex key; remove it");
      continue;
    }
    const std::string name = key.Scalar();
    auto [seen, inserted] = first_line.emplace(name, key_where.line);
    if (!inserted) {
      if (propertyIsSecret(properties, name) || nameLooksSecret(name)) {
        concealLiteral(it->second);
      }
      report(key_where, "yaml", prefixed(path, "duplicate key " + quote(name)),
             "it is already defined at line " + std::to_string(seen->second) +
                 "; keep only one of them");
      continue;
    }
    fn(key, name, key_where, it->second);
  }
}

std::optional<SubstitutionResult> Validator::substituteScalar(const YAML::Node& node,
                                                              const Where& where,
                                                              const std::string& path) {
  SubstitutionResult result = substitute(node.Scalar(), subst_);
  if (result.errors.empty()) {
    return result;
  }
  const bool exact = isPlain(node) && where.length > 0;
  for (const SubstitutionError& error : result.errors) {
    Where at = where;
    if (exact) {
      at.column += static_cast<int>(error.offset);
      at.length = static_cast<int>(error.length);
    }
    report(at, error.kind, prefixed(path, error.message), error.hint);
  }
  return std::nullopt;
}

std::optional<json> Validator::convert(const YAML::Node& node, const json& schema,
                                       const std::string& path, const Where& key_where) {
  if (!schema.is_object()) {
    // `true` or an absent schema: anything goes.
    return natural(node, path, key_where, true);
  }
  const std::vector<std::string> types = schemaTypes(schema);
  const bool empty = !node.IsDefined() || node.IsNull();
  const SecretSubstitutions scope(*this, schema.value("x-secret-substitutions", false));

  if (schema.value("x-raw", false)) {
    const bool kind_ok = empty || types.empty() || (node.IsMap() && allows(types, "object")) ||
                         (node.IsSequence() && allows(types, "array")) ||
                         (node.IsScalar() && !allows(types, "object") && !allows(types, "array"));
    if (!kind_ok) {
      report(whereOf(node, key_where), "schema", prefixed(path, "expected " + describeTypes(types)),
             typeHint(types));
      return std::nullopt;
    }
    return natural(node, path, key_where, false);
  }

  std::optional<json> value;
  Shown shown;  // how to name the value in messages
  Where where = whereOf(node, key_where);
  if (empty) {
    if (types.empty()) {
      return json(nullptr);
    }
    if (allows(types, "object")) {
      value = convertMap(YAML::Node(), schema, path, key_where);
    } else if (allows(types, "array")) {
      value = convertSequence(YAML::Node(), schema, path, key_where);
    } else {
      report(where, "schema", prefixed(path, "has no value; expected " + describeTypes(types)),
             allows(types, "string") ? "write \"\" for an empty text" : "");
      return std::nullopt;
    }
    where = collectionWhere(node, key_where);
  } else if (node.IsMap()) {
    if (!types.empty() && !allows(types, "object")) {
      report(collectionWhere(node, key_where), "schema",
             prefixed(path, "expected " + describeTypes(types) + ", got a mapping"),
             typeHint(types));
      return std::nullopt;
    }
    value = convertMap(node, schema, path, key_where);
    where = collectionWhere(node, key_where);
  } else if (node.IsSequence()) {
    if (!types.empty() && !allows(types, "array")) {
      report(collectionWhere(node, key_where), "schema",
             prefixed(path, "expected " + describeTypes(types) + ", got a list"), typeHint(types));
      return std::nullopt;
    }
    value = convertSequence(node, schema, path, key_where);
    where = collectionWhere(node, key_where);
  } else {
    value = convertScalar(node, schema, types, path, key_where, shown);
  }
  if (!value) {
    return std::nullopt;
  }
  if (!checkConstraints(*value, schema, path, where, shown)) {
    return std::nullopt;
  }
  return value;
}

std::optional<json> Validator::convertMap(const YAML::Node& node, const json& schema,
                                          const std::string& path, const Where& key_where) {
  json out = json::object();
  const json* properties = nullptr;
  if (auto it = schema.find("properties"); it != schema.end() && it->is_object()) {
    properties = &*it;
  }
  // additionalProperties: false (the default when properties are listed), true, or a schema
  // for every other key (map semantics).
  bool allow_additional = properties == nullptr;
  const json* additional_schema = nullptr;
  if (auto it = schema.find("additionalProperties"); it != schema.end()) {
    if (it->is_boolean()) {
      allow_additional = it->get<bool>();
    } else if (it->is_object()) {
      additional_schema = &*it;
    }
  }
  std::vector<std::string> known;
  if (properties != nullptr) {
    for (const auto& [name, unused] : properties->items()) {
      known.push_back(name);
    }
  }

  const Where map_where =
      node.IsMap() ? whereOf(node, key_where) : (key_where.line > 0 ? key_where : fallback());
  std::map<std::string, bool> present;
  if (node.IsMap()) {
    forEachEntry(node, path, properties,
                 [&](const YAML::Node&, const std::string& name, const Where& entry_where,
                     const YAML::Node& child) {
                   present[name] = true;
                   const std::string child_path = joinPath(path, name);
                   std::optional<json> converted;
                   if (properties != nullptr && properties->contains(name)) {
                     const json& property = (*properties)[name];
                     const bool child_empty = !child.IsDefined() || child.IsNull();
                     if (child_empty && property.is_object() && property.contains("default")) {
                       converted = defaultValue(property, child_path, entry_where);
                     } else {
                       converted = convert(child, property, child_path, entry_where);
                     }
                   } else if (additional_schema != nullptr) {
                     converted = convert(child, *additional_schema, child_path, entry_where);
                   } else if (allow_additional) {
                     converted = natural(child, child_path, entry_where, true);
                   } else {
                     std::string message = "unknown key " + quote(name);
                     if (!path.empty()) {
                       message += " in " + quote(path);
                     }
                     std::string hint;
                     const std::string match = diag::closestMatch(name, known);
                     if (propertyIsSecret(properties, match) || nameLooksSecret(name)) {
                       concealLiteral(child);  // e.g. `acces_token: EAAG...`
                     }
                     if (name == "<<") {
                       hint = "YAML merge keys are not supported; repeat the keys instead";
                     } else if (!match.empty()) {
                       hint = "did you mean " + quote(match) + "?";
                     } else if (known.empty()) {
                       hint = "this mapping takes no keys";
                     } else if (known.size() <= 12) {
                       hint = "known keys: " + joinList(known, ", ");
                     }
                     report(entry_where, "schema", message, hint);
                     return;
                   }
                   if (converted) {
                     out[name] = std::move(*converted);
                   }
                 });
  }

  if (auto it = schema.find("required"); it != schema.end() && it->is_array()) {
    for (const json& r : *it) {
      if (r.is_string() && !present.count(r.get<std::string>())) {
        const std::string name = r.get<std::string>();
        report(map_where, "schema",
               prefixed(joinPath(path, name), "required key " + quote(name) + " is missing"));
      }
    }
  }

  if (properties != nullptr) {
    for (const auto& [name, property] : properties->items()) {
      if (present.count(name) || !property.is_object()) {
        continue;
      }
      const std::string child_path = joinPath(path, name);
      if (property.contains("default")) {
        if (std::optional<json> d = defaultValue(property, child_path, map_where)) {
          out[name] = std::move(*d);
        }
        continue;
      }
      // An absent optional block still gets its members' defaults, so readers of the result
      // find every defaulted key without knowing the schema.
      const auto required = property.find("required");
      const bool has_required =
          required != property.end() && required->is_array() && !required->empty();
      if (allows(schemaTypes(property), "object") && property.contains("properties") &&
          !has_required) {
        std::optional<json> nested = convertMap(YAML::Node(), property, child_path, map_where);
        if (nested && !nested->empty()) {
          out[name] = std::move(*nested);
        }
      }
    }
  }
  // Partial on errors (they are reported), so callers can still inspect what converted.
  return out;
}

std::optional<json> Validator::convertSequence(const YAML::Node& node, const json& schema,
                                               const std::string& path, const Where& key_where) {
  json out = json::array();
  const json* items = nullptr;
  if (auto it = schema.find("items"); it != schema.end() && it->is_object()) {
    items = &*it;
  }
  if (node.IsSequence()) {
    const Where sequence_where = whereOf(node, key_where);
    size_t index = 0;
    for (const YAML::Node& item : node) {
      const std::string item_path = path + "[" + std::to_string(index) + "]";
      const Where item_where = whereOf(item, sequence_where);
      std::optional<json> converted = items != nullptr
                                          ? convert(item, *items, item_path, item_where)
                                          : natural(item, item_path, item_where, true);
      if (converted) {
        out.push_back(std::move(*converted));
      }
      ++index;
    }
  }
  return out;
}

std::optional<json> Validator::convertScalar(const YAML::Node& node, const json& schema,
                                             const std::vector<std::string>& types,
                                             const std::string& path, const Where& key_where,
                                             Shown& shown) {
  const Where where = whereOf(node, key_where);
  std::optional<SubstitutionResult> substituted = substituteScalar(node, where, path);
  if (!substituted) {
    return std::nullopt;
  }
  const std::string& text = substituted->value;
  const std::string format = schema.value("format", "");
  // Values of enums, formats and non-text types are settings, not tokens: showing them and
  // not redacting them is safe (and redacting "info" or "1" from every log line is not).
  const bool is_setting =
      schema.contains("enum") || !format.empty() || (!types.empty() && !allows(types, "string"));
  const bool is_secret = schema.value("secret", false);
  if (substituted->substituted) {
    shown = {"the value of " + quote(node.Scalar()), true};
  } else if (is_secret) {
    shown = {"the value", true};
  } else {
    shown = {quote(text), false};
  }
  const bool plain = isPlain(node);

  std::optional<json> value;
  if (format == "duration" || format == "size") {
    ParsedQuantity parsed = format == "duration" ? parseDuration(text) : parseSize(text);
    if (!parsed.value) {
      std::string message =
          shown.concealed ? shown.text + " is not a valid " + format : parsed.error;
      report(where, "schema", prefixed(path, message), parsed.hint);
      return std::nullopt;
    }
    value = *parsed.value;
  } else if (types.empty()) {
    if (substituted->substituted || !plain) {
      value = text;
    } else if (std::optional<bool> b = parseBool(text)) {
      value = *b;
    } else if (std::optional<int64_t> i = parseInteger(text)) {
      value = *i;
    } else if (std::optional<double> d = parseNumber(text)) {
      value = *d;
    } else {
      value = text;
    }
  } else {
    // A quoted scalar is text when text is allowed; otherwise "8080" still counts as 8080,
    // which is what someone who quoted a number meant.
    const bool prefer_text = allows(types, "string") && !plain;
    if (!prefer_text && allows(types, "integer")) {
      if (std::optional<int64_t> i = parseInteger(text)) {
        value = *i;
      }
    }
    if (!value && !prefer_text && allows(types, "number")) {
      if (std::optional<int64_t> i = parseInteger(text)) {
        value = *i;
      } else if (std::optional<double> d = parseNumber(text)) {
        value = *d;
      }
    }
    if (!value && !prefer_text && allows(types, "boolean")) {
      if (std::optional<bool> b = parseBool(text)) {
        value = *b;
      }
    }
    if (!value && allows(types, "string")) {
      value = text;
    }
    if (!value) {
      std::string hint = typeHint(types);
      if (allows(types, "boolean") && looksLikeYaml11Bool(text)) {
        hint = "write true or false; yes/no/on/off are not accepted";
      } else if (types.size() == 1 && types[0] == "boolean") {
        hint = "write true or false";
      }
      report(where, "schema",
             prefixed(path, "expected " + describeTypes(types) + ", got " + shown.text), hint);
      return std::nullopt;
    }
  }

  // Secrets: what logs, stored errors and diagnostics must never show. Only these: redacting
  // every ${...} value would turn e.g. `flows_dir: ${FLOWS_DIR:-./flows}` into *** everywhere.
  if (!is_setting && value->is_string()) {
    const std::vector<std::string>& own =
        secret_substitutions_ > 0 ? substituted->inserted : substituted->from_files;
    secrets_.insert(secrets_.end(), own.begin(), own.end());
  }
  if (is_secret && !text.empty()) {
    secrets_.push_back(text);
    if (!substituted->substituted) {
      report(where, "secret", prefixed(path, "secret written in the file in plain text"),
             "put it in an environment variable and write ${NAME}, or in a file and write "
             "${file:path}",
             diag::Severity::kWarning);
    }
  }
  return value;
}

std::optional<json> Validator::natural(const YAML::Node& node, const std::string& path,
                                       const Where& key_where, bool substitute_strings) {
  if (!node.IsDefined() || node.IsNull()) {
    return json(nullptr);
  }
  if (node.IsMap()) {
    json out = json::object();
    forEachEntry(node, path, nullptr,
                 [&](const YAML::Node&, const std::string& name, const Where& entry_where,
                     const YAML::Node& child) {
                   if (std::optional<json> v =
                           natural(child, joinPath(path, name), entry_where, substitute_strings)) {
                     out[name] = std::move(*v);
                   }
                 });
    return out;
  }
  if (node.IsSequence()) {
    json out = json::array();
    size_t index = 0;
    const Where sequence_where = whereOf(node, key_where);
    for (const YAML::Node& item : node) {
      if (std::optional<json> v = natural(item, path + "[" + std::to_string(index) + "]",
                                          whereOf(item, sequence_where), substitute_strings)) {
        out.push_back(std::move(*v));
      }
      ++index;
    }
    return out;
  }
  if (!substitute_strings) {
    const std::string& text = node.Scalar();
    if (isPlain(node)) {
      if (std::optional<bool> b = parseBool(text)) {
        return json(*b);
      }
      if (std::optional<int64_t> i = parseInteger(text)) {
        return json(*i);
      }
      if (std::optional<double> d = parseNumber(text)) {
        return json(*d);
      }
    }
    return json(text);
  }
  Shown shown;
  return convertScalar(node, json::object(), {}, path, key_where, shown);
}

std::optional<json> Validator::defaultValue(const json& property_schema, const std::string& path,
                                            const Where& where) {
  json value = property_schema["default"];
  const std::string format = property_schema.value("format", "");
  if (value.is_string() && (format == "duration" || format == "size")) {
    ParsedQuantity parsed = format == "duration" ? parseDuration(value.get<std::string>())
                                                 : parseSize(value.get<std::string>());
    if (!parsed.value) {
      report(where, "schema", prefixed(path, "the schema's default is invalid: " + parsed.error));
      return std::nullopt;
    }
    return json(*parsed.value);
  }
  return value;
}

bool Validator::checkConstraints(const json& value, const json& schema, const std::string& path,
                                 const Where& where, const Shown& shown_as) {
  const std::string shown = shown_as.text.empty() ? displayJson(value) : shown_as.text;
  const std::string format = schema.value("format", "");
  auto number_text = [&](const json& limit) {
    if (format == "duration" && limit.is_number()) {
      return formatDuration(limit.get<int64_t>());
    }
    if (format == "size" && limit.is_number()) {
      return formatSize(limit.get<int64_t>());
    }
    return jsonText(limit);
  };

  if (auto it = schema.find("enum"); it != schema.end() && it->is_array()) {
    if (std::find(it->begin(), it->end(), value) == it->end()) {
      std::vector<std::string> options;
      std::vector<std::string> string_options;
      for (const json& option : *it) {
        options.push_back(option.is_string() ? option.get<std::string>() : jsonText(option));
        if (option.is_string()) {
          string_options.push_back(option.get<std::string>());
        }
      }
      std::string hint;
      if (value.is_string() && !shown_as.concealed) {
        if (std::string match = diag::closestMatch(value.get<std::string>(), string_options);
            !match.empty()) {
          hint = "did you mean " + quote(match) + "?";
        }
      }
      report(where, "schema", prefixed(path, shown + " is not one of: " + joinList(options, ", ")),
             hint);
      return false;
    }
  }

  if (value.is_number()) {
    const double number = value.get<double>();
    const std::string display = format.empty() && !shown_as.concealed ? jsonText(value) : shown;
    if (auto it = schema.find("minimum");
        it != schema.end() && it->is_number() && number < it->get<double>()) {
      report(where, "schema",
             prefixed(path, display + " is below the minimum " + number_text(*it)));
      return false;
    }
    if (auto it = schema.find("maximum");
        it != schema.end() && it->is_number() && number > it->get<double>()) {
      report(where, "schema",
             prefixed(path, display + " is above the maximum " + number_text(*it)));
      return false;
    }
  }

  if (value.is_string()) {
    const std::string& text = value.get_ref<const std::string&>();
    const int length = codePoints(text);
    if (auto it = schema.find("minLength");
        it != schema.end() && it->is_number_integer() && length < it->get<int>()) {
      const std::string message = length == 0
                                      ? "must not be empty"
                                      : "must be at least " + jsonText(*it) +
                                            " characters long, got " + std::to_string(length);
      report(where, "schema", prefixed(path, message));
      return false;
    }
    if (auto it = schema.find("maxLength");
        it != schema.end() && it->is_number_integer() && length > it->get<int>()) {
      report(where, "schema",
             prefixed(path, "must be at most " + jsonText(*it) + " characters long, got " +
                                std::to_string(length)));
      return false;
    }
    if (auto it = schema.find("pattern"); it != schema.end() && it->is_string()) {
      const std::string& pattern = it->get_ref<const std::string&>();
      regex::RegexError error;
      const auto compiled = regex::UserRegex::compile(pattern, regex::Case::kSensitive, &error);
      if (!compiled) {
        report(where, "schema",
               prefixed(path,
                        "the schema's pattern " + quote(pattern) + " is invalid: " + error.message),
               "this is a bug in the schema (core or plugin), not in your file");
        return false;
      }
      if (!compiled->search(text)) {
        report(where, "schema", prefixed(path, shown + " does not match the pattern " + pattern));
        return false;
      }
    }
  }

  if (value.is_array()) {
    const size_t count = value.size();
    if (auto it = schema.find("minItems");
        it != schema.end() && it->is_number_integer() && count < it->get<size_t>()) {
      report(where, "schema",
             prefixed(path, "has " + std::to_string(count) + " items; at least " + jsonText(*it) +
                                " are required"));
      return false;
    }
    if (auto it = schema.find("maxItems");
        it != schema.end() && it->is_number_integer() && count > it->get<size_t>()) {
      report(where, "schema",
             prefixed(path, "has " + std::to_string(count) + " items; at most " + jsonText(*it) +
                                " are allowed"));
      return false;
    }
  }
  return true;
}

}  // namespace

bool ValidationResult::ok() const {
  return std::none_of(diagnostics.begin(), diagnostics.end(), [](const diag::Diagnostic& d) {
    return d.severity == diag::Severity::kError;
  });
}

ValidationResult validateNode(const YAML::Node& node, const nlohmann::json& schema,
                              const SubstitutionContext& subst, std::string_view file,
                              std::string_view path, const ValidateOptions& options) {
  Validator validator(subst, file, options);
  ValidationResult result;
  const Where where{options.fallback_line, options.fallback_column, 0};
  std::optional<json> value = validator.convert(node, schema, std::string(path), where);
  result.value = value ? std::move(*value) : json();
  validator.finish(result);
  return result;
}

}  // namespace waflow::core::config
