// Helpers the storage-sqlite operation files share: validation of an
// operation's input (Fields, whose errors name the exact field), writing
// small outputs as JSON text, and reading stored JSON back.
//
// Thread-safety: stateless; a Fields object lives within one validate() call.
#pragma once

#include "operations.h"

#include <waflow/sdk/types.hpp>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace waflow::storage_sqlite {

// ---- input validation ----------------------------------------------------------

// Checks the fields of one JSON object of an operation's input. Errors name
// the exact field from the input's top: "inbox.put: messages[2].received_at
// must be an integer". The location is spelled out only on failure, so valid
// input costs no allocation.
class Fields {
 public:
  // The operation's input itself.
  Fields(std::string_view op, const Json& object) : Fields(op, object, nullptr, nullptr, 0) {}

  void string(const char* key, bool non_empty = true) const {
    const Json& v = field(key);
    if (!v.is_string()) {
      fail(name(key) + " must be a string");
    }
    if (non_empty && v.get_ref<const std::string&>().empty()) {
      fail(name(key) + " must not be empty");
    }
  }

  void integer(const char* key, int64_t min = 0,
               int64_t max = std::numeric_limits<int64_t>::max()) const {
    const Json& v = field(key);
    if (!v.is_number_integer()) {
      fail(name(key) + " must be an integer");
    }
    bool in_range = false;
    if (v.is_number_unsigned()) {
      auto x = v.get<uint64_t>();
      in_range = x <= static_cast<uint64_t>(max) && (min <= 0 || x >= static_cast<uint64_t>(min));
    } else {
      auto x = v.get<int64_t>();
      in_range = x >= min && x <= max;
    }
    if (!in_range) {
      std::string range = max == std::numeric_limits<int64_t>::max()
                              ? "at least " + std::to_string(min)
                              : "between " + std::to_string(min) + " and " + std::to_string(max);
      fail(name(key) + " must be " + range + " (got " + v.dump() + ")");
    }
  }

  void object(const char* key, bool nullable) const {
    const Json& v = field(key);
    if (!(v.is_object() || (nullable && v.is_null()))) {
      fail(name(key) + (nullable ? " must be a JSON object or null" : " must be a JSON object"));
    }
  }

  // A JSON object, or the same object already serialised as a JSON string
  // (callers on the hot path send text so nobody builds a DOM for it).
  void objectOrText(const char* key, bool nullable = false) const {
    const Json& v = field(key);
    if (v.is_object() || (nullable && v.is_null())) {
      return;
    }
    if (v.is_string()) {
      const std::string& text = v.get_ref<const std::string&>();
      std::size_t first = text.find_first_not_of(" \t\r\n");
      if (first != std::string::npos && text[first] == '{') {
        return;
      }
    }
    fail(name(key) + (nullable ? " must be a JSON object, a string holding one, or null"
                               : " must be a JSON object (or a string holding one)"));
  }

  void boolean(const char* key) const {
    if (!field(key).is_boolean()) {
      fail(name(key) + " must be true or false");
    }
  }

  // An array of strings; an element's error names it: "tags_add[1] must be a string".
  void strings(const char* key, bool non_empty = true) const {
    const Json& v = field(key);
    if (!v.is_array()) {
      fail(name(key) + " must be an array of strings");
    }
    for (std::size_t i = 0; i < v.size(); ++i) {
      std::string element = name(key) + "[" + std::to_string(i) + "]";
      if (!v[i].is_string()) {
        fail(element + " must be a string");
      }
      if (non_empty && v[i].get_ref<const std::string&>().empty()) {
        fail(element + " must not be empty");
      }
    }
  }

  // Refuses the field `key` with `problem`: "<op>: <field> <problem>".
  [[noreturn]] void invalid(const char* key, const std::string& problem) const {
    fail(name(key) + " " + problem);
  }

  // True when the optional field `key` is present and not null.
  bool has(const char* key) const {
    auto it = object_.find(key);
    return it != object_.end() && !it->is_null();
  }

  // The object `key`, to validate its fields.
  Fields nested(const char* key) const { return Fields(op_, field(key), this, key, kNoIndex); }

  // Validates each element of the array `key` with `each(Fields&)`.
  template <typename Each>
  void array(const char* key, Each each) const {
    const Json& v = field(key);
    if (!v.is_array()) {
      fail(name(key) + " must be an array");
    }
    for (std::size_t i = 0; i < v.size(); ++i) {
      each(Fields(op_, v[i], this, key, i));
    }
  }

 private:
  static constexpr std::size_t kNoIndex = static_cast<std::size_t>(-1);

  // The object at outer.key (index kNoIndex) or outer.key[index].
  Fields(std::string_view op, const Json& object, const Fields* outer, const char* key,
         std::size_t index)
      : op_(op), object_(object), outer_(outer), key_(key), index_(index) {
    if (!object_.is_object()) {
      fail((outer_ == nullptr ? std::string("the input") : location()) + " must be a JSON object");
    }
  }

  // Where this object is: "messages[2]", "claim"; empty for the input itself.
  std::string location() const {
    if (outer_ == nullptr) {
      return {};
    }
    std::string where = outer_->name(key_);
    if (index_ != kNoIndex) {
      where += "[" + std::to_string(index_) + "]";
    }
    return where;
  }

  const Json& field(const char* key) const {
    auto it = object_.find(key);
    if (it == object_.end()) {
      fail(name(key) + " is required");
    }
    return *it;
  }
  std::string name(const char* key) const {
    return outer_ == nullptr ? std::string(key) : location() + "." + key;
  }
  [[noreturn]] void fail(const std::string& problem) const {
    throw waflow::Error(waflow::Rc::kInvalid, std::string(op_) + ": " + problem);
  }

  std::string_view op_;
  const Json& object_;
  const Fields* outer_;
  const char* key_;
  std::size_t index_;
};

constexpr int64_t kMaxLimit = 1000000;

// Appends `s` as a JSON string. Text comes from validated JSON input or from
// columns written from it, so it is valid UTF-8 and passes through as is.
void appendString(std::string& out, std::string_view s);

// Appends `"key":[true,false,...]`.
void appendFlags(std::string& out, const char* key, const std::vector<bool>& flags);

// An operation that builds its (larger, rarer) output as a DOM.
template <Json (*Run)(Db&, const Json&)>
void dumped(Db& db, const Json& in, std::string& out) {
  out = Run(db, in).dump();
}

// since / until, a half-open time range [since, until), both optional.
inline void validateTimeRange(const Fields& f) {
  if (f.has("since")) {
    f.integer("since");
  }
  if (f.has("until")) {
    f.integer("until");
  }
}

// The end of time, for an open `until`.
constexpr int64_t kMaxTime = std::numeric_limits<int64_t>::max();

// Fields of validated input.
inline const std::string& str(const Json& in, const char* key) {
  return in.at(key).get_ref<const std::string&>();
}
inline int64_t num(const Json& in, const char* key) {
  return in.at(key).get<int64_t>();
}

// The optional integer field `key`; `fallback` when absent or null.
inline int64_t optionalNumber(const Json& in, const char* key, int64_t fallback) {
  auto it = in.find(key);
  return it == in.end() || it->is_null() ? fallback : it->get<int64_t>();
}

// Stored JSON text back to a value; text SQLite holds was written by dump().
Json parseStored(const std::optional<std::string>& text);

// now + lease_ms without overflowing.
inline int64_t leaseUntil(int64_t now, int64_t lease_ms) {
  return now > std::numeric_limits<int64_t>::max() - lease_ms ? std::numeric_limits<int64_t>::max()
                                                              : now + lease_ms;
}

}  // namespace waflow::storage_sqlite
