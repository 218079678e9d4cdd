#include "webhook_parser.h"

#include <openssl/sha.h>
#include <simdjson.h>

#include <array>
#include <charconv>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <new>
#include <system_error>
#include <utility>

namespace waflow::cloudapi {
namespace {

using simdjson::dom::element;

constexpr std::size_t kIdleParsers = 16;
// A parser keeps buffers sized for the largest body it has seen; one grown by a rare
// multi-megabyte batch is freed rather than kept idle.
constexpr std::size_t kMaxPooledCapacity = 1 << 20;
constexpr std::size_t kSnippetChars = 200;
// Nested objects and arrays a body may have (the outermost is 1).
constexpr std::size_t kMaxDepth = 64;

// Lookups go through simdjson_result, which carries a missing key or a wrong type along the
// chain as an error instead of touching an invalid element.
using Lookup = simdjson::simdjson_result<element>;

Lookup lookup(element e) {
  return Lookup(std::move(e));
}

// The string at `key`, or "" when it is absent or not a string.
std::string_view str(Lookup e, std::string_view key) {
  std::string_view out;
  if (e[key].get(out) == simdjson::SUCCESS) {
    return out;
  }
  return {};
}

// The first non-empty string among `keys`.
std::string_view firstStr(Lookup e, std::initializer_list<std::string_view> keys) {
  for (std::string_view key : keys) {
    std::string_view s = str(e, key);
    if (!s.empty()) {
      return s;
    }
  }
  return {};
}

bool present(Lookup e, std::string_view key) {
  return e[key].error() == simdjson::SUCCESS;
}

// An integer sent either as a JSON number or, like Meta's timestamps, as a string of digits;
// 0 when absent or not a number.
int64_t integer(Lookup v) {
  std::string_view s;
  if (v.get(s) == simdjson::SUCCESS) {
    int64_t n = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    return ec == std::errc() && end == s.data() + s.size() ? n : 0;
  }
  int64_t n = 0;
  if (v.get(n) == simdjson::SUCCESS) {
    return n;
  }
  double d = 0;
  if (v.get(d) == simdjson::SUCCESS && d >= -9.2e18 && d <= 9.2e18) {
    return static_cast<int64_t>(d);
  }
  return 0;
}

int32_t clampToInt32(int64_t n) {
  if (n > std::numeric_limits<int32_t>::max() || n < std::numeric_limits<int32_t>::min()) {
    return 0;
  }
  return static_cast<int32_t>(n);
}

// A coordinate as text: the shortest form that reads back as the same double, or the string
// as sent when it came as one.
std::string coordinate(Lookup v) {
  std::string_view s;
  if (v.get(s) == simdjson::SUCCESS) {
    return std::string(s);
  }
  double d = 0;
  if (v.get(d) != simdjson::SUCCESS) {
    return {};
  }
  std::array<char, 64> buffer{};
  auto [end, ec] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), d);
  if (ec != std::errc()) {
    return {};
  }
  return std::string(buffer.data(), end);
}

const char* typeName(const element& e) {
  switch (e.type()) {
    case simdjson::dom::element_type::ARRAY:
      return "an array";
    case simdjson::dom::element_type::OBJECT:
      return "an object";
    case simdjson::dom::element_type::STRING:
      return "a string";
    case simdjson::dom::element_type::INT64:
    case simdjson::dom::element_type::UINT64:
    case simdjson::dom::element_type::DOUBLE:
      return "a number";
    case simdjson::dom::element_type::BOOL:
      return "a boolean";
    case simdjson::dom::element_type::NULL_VALUE:
      return "null";
  }
  return "an unknown JSON value";
}

std::string snippet(const element& e) {
  std::string s = simdjson::minify(e);
  if (s.size() > kSnippetChars) {
    s.resize(kSnippetChars);
    s += "...";
  }
  return s;
}

// A stable id for a message Meta sent without one, so that its retries still deduplicate.
std::string syntheticId(std::string_view raw_json) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::array<unsigned char, SHA256_DIGEST_LENGTH> digest{};
  SHA256(reinterpret_cast<const unsigned char*>(raw_json.data()), raw_json.size(), digest.data());
  std::string id = "nowamid.";
  for (std::size_t i = 0; i < 16; ++i) {
    id += kHex[digest[i] >> 4];
    id += kHex[digest[i] & 0x0f];
  }
  return id;
}

bool isMediaType(std::string_view type) {
  return type == "image" || type == "video" || type == "audio" || type == "document" ||
         type == "sticker";
}

std::string locationText(Lookup location) {
  std::string_view name = str(location, "name");
  std::string_view address = str(location, "address");
  if (!name.empty() && !address.empty()) {
    std::string out(name);
    out += ", ";
    out += address;
    return out;
  }
  if (!name.empty() || !address.empty()) {
    return std::string(name.empty() ? address : name);
  }
  std::string lat = coordinate(location["latitude"]);
  std::string lng = coordinate(location["longitude"]);
  if (lat.empty() || lng.empty()) {
    return {};
  }
  return lat + "," + lng;
}

std::string contactsText(Lookup contacts) {
  simdjson::dom::array list;
  if (contacts.get(list) != simdjson::SUCCESS || list.size() == 0) {
    return {};
  }
  Lookup first = lookup(*list.begin());
  Lookup name = first["name"];
  std::string_view formatted = str(name, "formatted_name");
  if (!formatted.empty()) {
    return std::string(formatted);
  }
  std::string_view given = str(name, "first_name");
  std::string_view family = str(name, "last_name");
  if (!given.empty() || !family.empty()) {
    std::string out(given);
    if (!given.empty() && !family.empty()) {
      out += ' ';
    }
    out += family;
    return out;
  }
  simdjson::dom::array phones;
  if (first["phones"].get(phones) == simdjson::SUCCESS && phones.size() > 0) {
    return std::string(str(lookup(*phones.begin()), "phone"));
  }
  return {};
}

// Fills text, reply_id and (for types that point at another message) context_id.
void readContent(Lookup m, std::string_view type, waflow::InboundMessage& in, int depth) {
  if (type.empty()) {
    return;
  }
  Lookup payload = m[type];
  if (type == "text") {
    in.text = str(payload, "body");
  } else if (isMediaType(type)) {
    in.text = str(payload, "caption");
  } else if (type == "location") {
    in.text = locationText(payload);
  } else if (type == "contacts") {
    in.text = contactsText(payload);
  } else if (type == "interactive") {
    std::string_view kind = str(payload, "type");
    Lookup reply = payload[kind];
    if (kind.empty() || reply.error() != simdjson::SUCCESS) {
      for (std::string_view known : {"button_reply", "list_reply", "nfm_reply"}) {
        if (present(payload, known)) {
          reply = payload[known];
          break;
        }
      }
    }
    // button_reply/list_reply carry title+id; nfm_reply (Flows) carries body.
    in.text = firstStr(reply, {"title", "body", "text"});
    in.reply_id = str(reply, "id");
  } else if (type == "button") {
    in.text = str(payload, "text");
    in.reply_id = str(payload, "payload");
  } else if (type == "reaction") {
    in.text = str(payload, "emoji");
    in.context_id = str(payload, "message_id");
  } else if (type == "order") {
    in.text = str(payload, "text");
  } else if (type == "system") {
    in.text = str(payload, "body");
  } else if (type == "edit") {
    Lookup edited = payload["message"];
    std::string_view edited_type = str(edited, "type");
    if (depth == 0 && edited_type != "edit") {
      readContent(edited, edited_type, in, depth + 1);
    }
    in.context_id = str(payload, "original_message_id");
  } else if (type == "revoke") {
    in.context_id = str(payload, "original_message_id");
  } else if (type == "request_welcome" || type == "unsupported" || type == "unknown") {
    // Nothing to read: errors[] and unsupported.type stay in raw_json.
  } else {
    // A type this parser does not know yet: take the most text-like field, if any.
    in.text = firstStr(payload, {"body", "text", "caption", "title"});
    in.reply_id = str(payload, "id");
  }
}

struct Contact {
  std::string_view wa_id;
  std::string_view user_id;
  std::string_view name;
};

const Contact* findContact(const std::vector<Contact>& contacts, std::string_view from,
                           std::string_view from_user_id) {
  if (!from.empty()) {
    for (const Contact& c : contacts) {
      if (c.wa_id == from) {
        return &c;
      }
    }
  }
  if (!from_user_id.empty()) {
    for (const Contact& c : contacts) {
      if (c.user_id == from_user_id) {
        return &c;
      }
    }
  }
  return nullptr;
}

// Parses one changes[].value of field "messages".
class ValueReader {
 public:
  ValueReader(ParsedWebhook& out, std::string_view entry_id, std::string_view own_number)
      : out_(out), entry_id_(entry_id), own_number_(own_number) {}

  void read(element value) {
    Lookup v = lookup(value);
    recipient_ = str(v["metadata"], "phone_number_id");
    if (!own_number_.empty() && recipient_ != own_number_) {
      refuseForeign(v);
      return;
    }
    readContacts(v);
    forEach(v, "messages", [this](element m) { readMessage(m); });
    forEach(v, "statuses", [this](element s) { readStatus(s); });
    forEach(v, "errors", [this](element e) { readError(e); });
    passOnUnmodelled(value);
  }

 private:
  template <typename F>
  void forEach(Lookup v, const char* key, F&& f) {
    Lookup list = v[key];
    if (list.error() == simdjson::NO_SUCH_FIELD) {
      return;
    }
    simdjson::dom::array array;
    if (list.get(array) != simdjson::SUCCESS) {
      element e;
      if (list.get(e) == simdjson::SUCCESS) {
        warn(std::string("value.") + key + " is " + typeName(e) + ", not an array: ignored (" +
             snippet(e) + ")");
      }
      return;
    }
    std::size_t index = 0;
    for (element item : array) {
      if (!item.is_object()) {
        warn(std::string("value.") + key + "[" + std::to_string(index) + "] is " + typeName(item) +
             ", not an object: ignored (" + snippet(item) + ")");
      } else {
        f(item);
      }
      ++index;
    }
  }

  void readContacts(Lookup v) {
    simdjson::dom::array list;
    if (v["contacts"].get(list) != simdjson::SUCCESS) {
      return;
    }
    for (element c : list) {
      Lookup contact = lookup(c);
      contacts_.push_back(
          Contact{str(contact, "wa_id"), str(contact, "user_id"), str(contact["profile"], "name")});
    }
  }

  void readMessage(element m) {
    Lookup msg = lookup(m);
    waflow::InboundMessage in;
    in.raw_json = simdjson::minify(m);
    in.id = str(msg, "id");
    if (in.id.empty()) {
      in.id = syntheticId(in.raw_json);
      warn("a message has no \"id\"; kept with the synthetic id " + in.id + " (" + snippet(m) +
           ")");
    }
    in.from = str(msg, "from");
    in.from_user_id = str(msg, "from_user_id");
    if (const Contact* c = findContact(contacts_, in.from, in.from_user_id); c != nullptr) {
      in.contact_name = c->name;
      // contacts[] ties a phone number and a BSUID to the same person: fill what the message
      // itself left out.
      if (in.from.empty()) {
        in.from = c->wa_id;
      }
      if (in.from_user_id.empty()) {
        in.from_user_id = c->user_id;
      }
    }
    in.type = str(msg, "type");
    if (in.type.empty()) {
      warn("message " + in.id + " has no \"type\"; kept with an empty type");
    }
    readContent(msg, in.type, in, 0);
    if (in.context_id.empty()) {
      in.context_id = str(msg["context"], "id");
    }
    in.recipient = recipient_;
    in.timestamp = integer(msg["timestamp"]);
    out_.messages.push_back(std::move(in));
  }

  void readStatus(element s) {
    Lookup status = lookup(s);
    waflow::StatusUpdate st;
    st.raw_json = simdjson::minify(s);
    st.message_id = str(status, "id");
    st.status = str(status, "status");
    if (st.message_id.empty() || st.status.empty()) {
      warn("a status lacks \"id\" or \"status\" (" + snippet(s) + ")");
    }
    st.recipient =
        firstStr(status, {"recipient_id", "recipient_user_id", "recipient_participant_id"});
    st.timestamp = integer(status["timestamp"]);
    simdjson::dom::array errors;
    if (status["errors"].get(errors) == simdjson::SUCCESS && errors.size() > 0) {
      Lookup first = lookup(*errors.begin());
      st.error_code = clampToInt32(integer(first["code"]));
      st.error_message = firstStr(first, {"message", "title"});
    }
    out_.statuses.push_back(std::move(st));
  }

  void readError(element e) {
    Lookup error = lookup(e);
    WebhookError w;
    w.code = integer(error["code"]);
    w.title = str(error, "title");
    w.message = str(error, "message");
    w.details = str(error["error_data"], "details");
    w.href = str(error, "href");
    w.recipient = recipient_;
    w.raw_json = simdjson::minify(e);
    out_.errors.push_back(std::move(w));
  }

  // Lists in the value that this parser does not model (message_echoes, ...) would be lost;
  // pass the whole value on so the plugin can publish it.
  void passOnUnmodelled(element value) {
    simdjson::dom::object object;
    if (value.get(object) != simdjson::SUCCESS) {
      return;
    }
    std::string unmodelled;
    for (auto field : object) {
      std::string_view key = field.key;
      if (key == "messaging_product" || key == "metadata" || key == "contacts" ||
          key == "messages" || key == "statuses" || key == "errors") {
        continue;
      }
      simdjson::dom::array array;
      if (field.value.get(array) == simdjson::SUCCESS && array.size() > 0) {
        unmodelled += unmodelled.empty() ? "" : ", ";
        unmodelled += key;
      }
    }
    if (!unmodelled.empty()) {
      warn("a \"messages\" change carries " + unmodelled +
           ", which waflow does not parse; passed on in other_fields");
      out_.other_fields.push_back(
          FieldChange{"messages", std::string(entry_id_), simdjson::minify(value)});
    }
  }

  // A value for another business number: nothing in it is read, only counted.
  void refuseForeign(Lookup v) {
    auto count = [&](const char* key) -> std::size_t {
      simdjson::dom::array list;
      return v[key].get(list) == simdjson::SUCCESS ? list.size() : 0;
    };
    out_.foreign.push_back(ForeignChange{std::string(recipient_), count("messages"),
                                         count("statuses"), count("errors")});
  }

  void warn(std::string warning) { out_.warnings.push_back(std::move(warning)); }

  ParsedWebhook& out_;
  std::string_view entry_id_;
  std::string_view own_number_;
  std::string_view recipient_;
  std::vector<Contact> contacts_;
};

constexpr const char* kExpected =
    "expected a WhatsApp Cloud API webhook ({\"object\": \"whatsapp_business_account\", "
    "\"entry\": [...]})";

// Checks the envelope; returns the error text, or "" when it is a Cloud API webhook.
std::string envelopeError(simdjson::error_code parse_error, const element& root) {
  if (parse_error == simdjson::EMPTY) {
    return std::string("body is empty; ") + kExpected;
  }
  if (parse_error != simdjson::SUCCESS) {
    return std::string("body is not valid JSON (") + simdjson::error_message(parse_error) + "); " +
           kExpected;
  }
  if (!root.is_object()) {
    return std::string("body is ") + typeName(root) + ", not a JSON object; " + kExpected;
  }
  Lookup object = lookup(root)["object"];
  if (object.error() == simdjson::NO_SUCH_FIELD) {
    return std::string("body has no \"object\" field; ") + kExpected;
  }
  std::string_view name;
  if (object.get(name) != simdjson::SUCCESS) {
    return std::string("\"object\" is not a string; ") + kExpected;
  }
  if (name != "whatsapp_business_account") {
    return "\"object\" is \"" + std::string(name) +
           "\", not \"whatsapp_business_account\": this URL takes WhatsApp Business Account "
           "webhooks only (check which product the Meta app subscribed it to)";
  }
  Lookup entry = lookup(root)["entry"];
  if (entry.error() != simdjson::NO_SUCH_FIELD && !entry.is_array()) {
    return std::string("\"entry\" is not an array; ") + kExpected;
  }
  return {};
}

}  // namespace

WebhookParser::WebhookParser() = default;
WebhookParser::~WebhookParser() = default;

std::unique_ptr<simdjson::dom::parser> WebhookParser::take() {
  {
    std::lock_guard lock(mutex_);
    if (!idle_.empty()) {
      auto p = std::move(idle_.back());
      idle_.pop_back();
      return p;
    }
  }
  // Meta's webhooks nest about ten levels. A parser keeps the depth it was allocated with as
  // it grows, so this bounds every body it reads (deeper ones are refused as malformed), as the
  // core bounds the JSON it parses (core/src/json/bounded_parse.h).
  auto parser = std::make_unique<simdjson::dom::parser>();
  if (parser->allocate(simdjson::dom::MINIMAL_DOCUMENT_CAPACITY, kMaxDepth) != simdjson::SUCCESS) {
    throw std::bad_alloc();
  }
  return parser;
}

void WebhookParser::give(std::unique_ptr<simdjson::dom::parser> parser) {
  if (parser->capacity() > kMaxPooledCapacity) {
    return;
  }
  std::lock_guard lock(mutex_);
  if (idle_.size() < kIdleParsers) {
    idle_.push_back(std::move(parser));
  }
}

ParsedWebhook WebhookParser::parse(std::string_view body, std::string_view own_phone_number_id) {
  // The parser goes back to the pool however this function leaves (minify can throw
  // bad_alloc).
  struct Lease {
    WebhookParser& owner;
    std::unique_ptr<simdjson::dom::parser> parser;
    ~Lease() { owner.give(std::move(parser)); }
  } lease{*this, take()};

  ParsedWebhook out;
  element root;
  simdjson::error_code parse_error = lease.parser->parse(body.data(), body.size()).get(root);
  out.error = envelopeError(parse_error, root);
  if (!out.error.empty()) {
    return out;
  }
  simdjson::dom::array entries;
  if (root["entry"].get(entries) != simdjson::SUCCESS) {
    out.warnings.emplace_back("the webhook has no \"entry\" array: nothing in it");
    return out;
  }
  std::size_t entry_index = 0;
  for (element entry : entries) {
    Lookup e = lookup(entry);
    std::string_view entry_id = str(e, "id");
    simdjson::dom::array changes;
    if (e["changes"].get(changes) != simdjson::SUCCESS) {
      out.warnings.push_back("entry[" + std::to_string(entry_index) +
                             "] has no \"changes\" array: ignored (" + snippet(entry) + ")");
      ++entry_index;
      continue;
    }
    for (element change : changes) {
      Lookup c = lookup(change);
      std::string_view field = str(c, "field");
      Lookup value = c["value"];
      element value_element;
      bool has_value = value.get(value_element) == simdjson::SUCCESS;
      bool chat_traffic =
          field == "messages" ||
          (field.empty() && (present(value, "messages") || present(value, "statuses")));
      if (chat_traffic && has_value && value_element.is_object()) {
        if (field.empty()) {
          out.warnings.emplace_back(
              "a change without \"field\" carries messages or statuses; read as \"messages\"");
        }
        ValueReader(out, entry_id, own_phone_number_id).read(value_element);
        continue;
      }
      if (chat_traffic) {
        out.warnings.emplace_back(
            "a \"messages\" change has no object \"value\"; passed on in other_fields");
      }
      out.other_fields.push_back(
          FieldChange{std::string(field), std::string(entry_id),
                      has_value ? simdjson::minify(value_element) : std::string("null")});
    }
    ++entry_index;
  }
  return out;
}

}  // namespace waflow::cloudapi
