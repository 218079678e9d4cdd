#include "delivery/inbound_chain.h"

#include "delivery/events.h"

#include <memory>
#include <utility>

namespace waflow::core::delivery {

InboundNext::operator bool() const {
  return chain_ != nullptr && index_ < chain_->links_.size();
}

void InboundNext::operator()(const bus::Event& event, std::function<void()> done) const {
  if (!*this) {
    done();  // no link left: the caller decides what an unanswered message means
    return;
  }
  chain_->links_[index_].link->handleInbound(event, InboundNext(chain_, index_ + 1),
                                             std::move(done));
}

void InboundChain::add(InboundLink& link, std::string name) {
  links_.push_back(Entry{&link, std::move(name)});
}

void InboundChain::attach(bus::EventBus& bus) {
  if (links_.empty()) {
    return;
  }
  bus.subscribeAsync(
      kMessageReceived,
      [this](const bus::Event& event, bus::Done done) {
        auto shared = std::make_shared<bus::Done>(std::move(done));
        InboundNext(this, 0)(event, [shared] { (*shared)(); });
      },
      links_.front().name);
}

}  // namespace waflow::core::delivery
