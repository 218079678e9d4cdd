#include "fake_storage.h"

#include <algorithm>
#include <sstream>
#include <utility>

namespace waflow::testing {
namespace {

struct Field {
  std::string name;
  bool optional = false;
  bool array = false;
};

// "messages[], max_attempts, reason?" -> its fields; "{}" -> none.
std::vector<Field> parseForm(const std::string& form) {
  std::vector<Field> fields;
  std::stringstream in(form);
  std::string item;
  while (std::getline(in, item, ',')) {
    item.erase(0, item.find_first_not_of(' '));
    item.erase(item.find_last_not_of(' ') + 1);
    if (item.empty() || item == "{}") {
      continue;
    }
    Field field;
    if (item.back() == '?') {
      field.optional = true;
      item.pop_back();
    }
    if (item.size() > 2 && item.ends_with("[]")) {
      field.array = true;
      item.resize(item.size() - 2);
    }
    field.name = item;
    fields.push_back(field);
  }
  return fields;
}

// The row's forms: "id, now | messages[], now" has two.
std::vector<std::vector<Field>> parseForms(const std::string& shape) {
  std::vector<std::vector<Field>> forms;
  size_t start = 0;
  while (true) {
    size_t bar = shape.find(" | ", start);
    forms.push_back(parseForm(shape.substr(start, bar - start)));
    if (bar == std::string::npos) {
      return forms;
    }
    start = bar + 3;
  }
}

std::string checkForm(const std::vector<Field>& form, const nlohmann::json& input) {
  for (const Field& field : form) {
    auto it = input.find(field.name);
    if (it == input.end()) {
      if (!field.optional) {
        return "lacks the required field '" + field.name + "'";
      }
    } else if (field.array && !it->is_array()) {
      return "'" + field.name + "' is not an array";
    }
  }
  for (const auto& [key, value] : input.items()) {
    bool named = std::any_of(form.begin(), form.end(),
                             [&key](const Field& field) { return field.name == key; });
    if (!named) {
      return "holds '" + key + "', which the protocol's table does not name";
    }
  }
  return "";
}

}  // namespace

std::string checkInputShape(const waflow::storage::OperationInfo& row,
                            const nlohmann::json& input) {
  if (!input.is_object()) {
    return "the input is not a JSON object";
  }
  std::string first_error;
  for (const auto& form : parseForms(row.input)) {
    std::string error = checkForm(form, input);
    if (error.empty()) {
      return "";
    }
    if (first_error.empty()) {
      first_error = error;
    }
  }
  return first_error + " (shape: " + row.input + ")";
}

FakeStorage::FakeStorage() : thread_([this] { run(); }) {}

FakeStorage::~FakeStorage() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    held_ = false;
  }
  changed_.notify_all();
  thread_.join();
}

void FakeStorage::on(Operation operation, Handler handler) {
  std::lock_guard lock(mutex_);
  handlers_[operation.name()] = std::move(handler);
}

void FakeStorage::answer(Operation operation, nlohmann::json output) {
  on(operation,
     [output = std::move(output)](const nlohmann::json&) { return FakeAnswer::ok(output); });
}

void FakeStorage::fail(Operation operation, waflow::Rc rc, std::string error) {
  on(operation, [rc, error = std::move(error)](const nlohmann::json&) {
    return FakeAnswer::failure(rc, error);
  });
}

void FakeStorage::hold() {
  std::lock_guard lock(mutex_);
  held_ = true;
}

void FakeStorage::release() {
  {
    std::lock_guard lock(mutex_);
    held_ = false;
  }
  changed_.notify_all();
}

std::vector<nlohmann::json> FakeStorage::calls(Operation operation) const {
  std::lock_guard lock(mutex_);
  auto it = calls_.find(operation.name());
  return it == calls_.end() ? std::vector<nlohmann::json>{} : it->second;
}

bool FakeStorage::waitForCalls(Operation operation, size_t count,
                               std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [&] {
    auto it = calls_.find(operation.name());
    return it != calls_.end() && it->second.size() >= count;
  });
}

std::vector<std::string> FakeStorage::shapeErrors() const {
  std::lock_guard lock(mutex_);
  return shape_errors_;
}

void FakeStorage::execute(Operation operation, std::string input_json, RawDone done) {
  nlohmann::json input = nlohmann::json::parse(input_json, nullptr, false);
  std::string shape_error =
      input.is_discarded() ? "the input is not JSON" : checkInputShape(operation.info(), input);
  {
    std::lock_guard lock(mutex_);
    calls_[operation.name()].push_back(input);
    if (!shape_error.empty()) {
      shape_errors_.push_back(std::string(operation.name()) + ": " + shape_error);
    }
    queue_.push_back(Queued{operation, std::move(input), std::move(shape_error), std::move(done)});
  }
  changed_.notify_all();
}

core::storage::Outcome FakeStorage::answerFor(const Queued& call) {
  core::storage::Outcome outcome;
  if (!call.shape_error.empty()) {
    outcome.rc = waflow::Rc::kInvalid;
    outcome.error = call.shape_error;
    return outcome;
  }
  Handler handler;
  {
    std::lock_guard lock(mutex_);
    auto it = handlers_.find(call.operation.name());
    if (it != handlers_.end()) {
      handler = it->second;
    }
  }
  if (!handler) {
    outcome.rc = waflow::Rc::kUnsupported;
    outcome.error =
        std::string("the fake storage was given no answer for ") + call.operation.name();
    return outcome;
  }
  FakeAnswer answer = handler(call.input);
  outcome.rc = answer.rc;
  outcome.error = answer.error;
  if (answer.rc == waflow::Rc::kOk) {
    outcome.value = answer.output.dump();
  }
  return outcome;
}

void FakeStorage::run() {
  while (true) {
    Queued call{waflow::storage::kStats, nullptr, {}, nullptr};
    {
      std::unique_lock lock(mutex_);
      changed_.wait(lock, [this] { return stopping_ || (!held_ && !queue_.empty()); });
      if (queue_.empty()) {
        return;  // stopping, and everything asked has been answered
      }
      call = std::move(queue_.front());
      queue_.pop_front();
    }
    call.done(answerFor(call));
  }
}

}  // namespace waflow::testing
