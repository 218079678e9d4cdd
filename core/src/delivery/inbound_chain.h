// InboundChain — what answers a stored customer message, as one explicit chain. Each link is
// handed a message.received event and either answers it or passes it to the rest of the
// chain. The daemon builds it in order: the flows first, then the auto-reply for the messages
// no flow takes (or the auto-reply alone when flows are off). Marking the message handled
// follows the whole chain on its own (the inbox subscribes with subscribeWhenHandled).
//
// Thread-safety: build the chain (add, attach) before the bus starts; links are then called
// on bus workers and must be thread-safe.
#pragma once

#include "bus/event_bus.h"

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

namespace waflow::core::delivery {

class InboundChain;

// The rest of the chain after one link.
class InboundNext {
 public:
  // Whether a link follows: a link with no one after it answers even what it would pass.
  explicit operator bool() const;
  // Hands `event` to the next link; `done` once that link (or one after it) has handled it.
  void operator()(const bus::Event& event, std::function<void()> done) const;

 private:
  friend class InboundChain;
  InboundNext(const InboundChain* chain, std::size_t index) : chain_(chain), index_(index) {}

  const InboundChain* chain_;
  std::size_t index_;
};

// One link: the flow engine, the auto-reply.
class InboundLink {
 public:
  virtual ~InboundLink() = default;
  // Answers `event` and calls `done` once the answer is stored (or there is none), or hands
  // it on with next(event, done). The event stays valid until `done` is called.
  virtual void handleInbound(const bus::Event& event, InboundNext next,
                             std::function<void()> done) = 0;
};

class InboundChain {
 public:
  // Appends a link; `name` labels it in the bus's metrics and logs. Links outlive the chain's
  // use (the daemon owns both).
  void add(InboundLink& link, std::string name);
  // Subscribes the chain to message.received. Call once, after the links are added.
  void attach(bus::EventBus& bus);

  bool empty() const { return links_.empty(); }

 private:
  friend class InboundNext;
  struct Entry {
    InboundLink* link;
    std::string name;
  };
  std::vector<Entry> links_;
};

}  // namespace waflow::core::delivery
