#include "storage/storage_protocol.h"

#include <waflow/sdk/storage.hpp>

#include <fmt/format.h>

#include <future>
#include <memory>

namespace waflow::core::storage {

StorageVerdict checkStorage(StorageClient& storage, const StorageNeeds& needs,
                            std::chrono::milliseconds timeout) {
  auto promise = std::make_shared<std::promise<Outcome>>();
  std::future<Outcome> answer = promise->get_future();
  storage.execute(waflow::storage::kDescribe, "{}",
                  [promise](Outcome outcome) { promise->set_value(std::move(outcome)); });
  if (answer.wait_for(timeout) != std::future_status::ready) {
    return {fmt::format("storage '{}' cannot be used: it did not answer {} within {} ms",
                        storage.id(), waflow::storage::kDescribe, timeout.count()),
            {}};
  }
  const Outcome outcome = answer.get();
  return judgeDescription(storage.id(), outcome.rc, outcome.error, outcome.value, needs);
}

}  // namespace waflow::core::storage
