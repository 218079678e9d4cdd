#include "storage/storage_client.h"

#include <utility>

namespace waflow::core::storage {

void StorageClient::call(Operation operation, const nlohmann::json& input, JsonDone done) {
  // Invalid UTF-8 from a customer's text is replaced rather than thrown: a call must not fail
  // because a message held a broken byte.
  std::string serialised = input.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  execute(operation, std::move(serialised), [operation, done = std::move(done)](Outcome outcome) {
    nlohmann::json output;
    if (outcome.ok()) {
      output = nlohmann::json::parse(outcome.value, nullptr, false);
      if (output.is_discarded()) {
        output = nullptr;
        outcome.rc = waflow::Rc::kError;
        outcome.error = std::string(operation.name()) + ": the storage answered invalid JSON";
      }
    }
    done(outcome, std::move(output));
  });
}

void PluginStorage::execute(Operation operation, std::string input_json, RawDone done) {
  instance_.execute(operation.name(), input_json, std::move(done));
}

}  // namespace waflow::core::storage
