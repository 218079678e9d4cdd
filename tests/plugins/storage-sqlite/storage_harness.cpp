#include "storage_harness.h"

#include "log/log.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <future>

namespace waflow::test::storage {
namespace {

const std::filesystem::path kPlugins = WAFLOW_PLUGIN_DIR;

std::string safeName(std::string name) {
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) {
      c = '-';
    }
  }
  return name;
}

}  // namespace

std::function<void(CallOutcome)> Calls::slot(std::size_t i) {
  return [state = state_, i](CallOutcome o) {
    std::lock_guard lock(state->mutex);
    state->outcomes[i] = std::move(o);
    if (--state->remaining == 0) {
      state->done.notify_all();
    }
  };
}

std::vector<CallOutcome> Calls::wait() {
  std::unique_lock lock(state_->mutex);
  bool all = state_->done.wait_for(lock, std::chrono::seconds(60),
                                   [this] { return state_->remaining == 0; });
  EXPECT_TRUE(all) << state_->remaining << " operations never answered";
  return state_->outcomes;
}

StorageHarness::StorageHarness(std::string test_name) {
  static std::atomic<int> counter{0};
  dir_ = std::filesystem::temp_directory_path() /
         ("waflow-storage-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" +
          safeName(std::move(test_name)));
  std::filesystem::remove_all(dir_);
  std::filesystem::create_directories(dir_);
  core::log::init({"warn", "text", ""});  // keep the suite's output to failures
  catalog_.scan({kPlugins});
  for (int i = 0; i < 2; ++i) {
    threads_.emplace_back([this] { io_.run(); });
  }
  bus_.start();
}

StorageHarness::~StorageHarness() {
  close();
  bus_.stop(std::chrono::seconds(5));
  http_.shutdown();
  work_.reset();
  for (auto& t : threads_) {
    t.join();
  }
  std::filesystem::remove_all(dir_);
}

bool StorageHarness::open(const std::string& plugin, const Json& config, std::string* error) {
  close();
  auto library = catalog_.find(plugin);
  if (library == nullptr) {
    *error = "plugin " + plugin + " not found in " + kPlugins.string();
    return false;
  }
  auto instance = std::make_unique<PluginInstance>(library, "store", services());
  if (!instance->create(config.dump(), error) || !instance->start(error)) {
    return false;
  }
  instance_ = std::move(instance);
  return true;
}

void StorageHarness::openOrFail(const std::string& plugin, const Json& config) {
  std::string error;
  ASSERT_TRUE(open(plugin, config, &error)) << error;
}

void StorageHarness::close() {
  if (instance_) {
    instance_->stop(std::chrono::seconds(10));
    instance_.reset();
  }
}

CallOutcome StorageHarness::exec(const std::string& op, const Json& input) {
  auto done = std::make_shared<std::promise<CallOutcome>>();
  auto future = done->get_future();
  instance_->execute(op, input.dump(), [done](CallOutcome o) { done->set_value(std::move(o)); });
  if (future.wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
    ADD_FAILURE() << op << " never answered";
    return CallOutcome{waflow::Rc::kError, "", "", "no answer", 0, {}};
  }
  return future.get();
}

Json StorageHarness::ok(const std::string& op, const Json& input) {
  CallOutcome o = exec(op, input);
  EXPECT_TRUE(o.ok()) << op << " failed (" << static_cast<int>(o.rc) << "): " << o.error;
  Json out = Json::parse(o.value.empty() ? "{}" : o.value, nullptr, false);
  EXPECT_TRUE(out.is_object()) << op << " answered: " << o.value;
  return out;
}

Calls StorageHarness::start(const std::vector<std::pair<std::string, Json>>& calls, int threads) {
  Calls pending(calls.size());
  std::vector<std::string> inputs;
  inputs.reserve(calls.size());
  for (const auto& [op, input] : calls) {
    inputs.push_back(input.dump());
  }
  // Released together so the calls really overlap.
  std::atomic<bool> go{false};
  std::vector<std::thread> starters;
  for (int t = 0; t < threads; ++t) {
    starters.emplace_back([&, t] {
      while (!go.load()) {
        std::this_thread::yield();
      }
      for (std::size_t i = static_cast<std::size_t>(t); i < calls.size();
           i += static_cast<std::size_t>(threads)) {
        instance_->execute(calls[i].first, inputs[i], pending.slot(i));
      }
    });
  }
  go = true;
  for (auto& s : starters) {
    s.join();
  }
  return pending;
}

Json inboxMessage(const std::string& id, const std::string& contact, int64_t received_at,
                  const std::string& name) {
  return {{"channel", "wa-main"},
          {"id", id},
          {"contact", contact},
          {"contact_name", name},
          {"conversation", "wa-main:" + contact},
          {"type", "text"},
          {"received_at", received_at},
          {"event",
           {{"id", id},
            {"from", contact},
            {"type", "text"},
            {"text", "Halo kak, pesanan " + id + " sudah sampai? 🙏"},
            {"timestamp", received_at / 1000}}}};
}

Json outboxMessage(const std::string& id, const std::string& conversation, int64_t not_before) {
  return {{"id", id},
          {"channel", "wa-main"},
          {"to", "6281200000001"},
          {"conversation", conversation},
          {"type", "text"},
          {"text", "Terima kasih! (" + id + ")"},
          {"reply_to", ""},
          {"payload", nullptr},
          {"not_before", not_before}};
}

Json status(const std::string& message_id, const std::string& status, int64_t timestamp,
            int64_t error_code) {
  return {{"channel", "wa-main"},
          {"message_id", message_id},
          {"status", status},
          {"timestamp", timestamp},
          {"error_code", error_code},
          {"error_message", error_code == 0 ? "" : "Message undeliverable"},
          {"raw", {{"id", message_id}, {"status", status}}}};
}

std::vector<std::string> ids(const Json& output, const char* key) {
  std::vector<std::string> out;
  for (const Json& m : output.value(key, Json::array())) {
    out.push_back(m.value("id", ""));
  }
  return out;
}

}  // namespace waflow::test::storage
