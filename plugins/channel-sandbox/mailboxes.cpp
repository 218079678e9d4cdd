#include "mailboxes.h"

#include <utility>

namespace waflow::sandbox {

using Json = nlohmann::json;

waflow::Signal Mailboxes::put(const std::string& contact, Json reply) {
  std::lock_guard lock(mutex_);
  Mailbox& box = mailbox(contact);
  reply["seq"] = ++box.last_seq;
  // A reply's text may hold invalid UTF-8 (a rule cut a character in two): it is counted, and
  // later served, with U+FFFD in its place, as the Cloud API channel sends it.
  std::size_t bytes = reply.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).size();
  box.replies.push_back({std::move(reply), bytes});
  box.bytes += bytes;
  total_bytes_ += bytes;
  while (box.replies.size() > 1 && (box.replies.size() > limits_.replies_per_contact ||
                                    box.bytes > limits_.bytes_per_contact)) {
    dropOldest(box);
  }
  fitTotal(box);
  return wake(box);
}

waflow::Signal Mailboxes::typing(const std::string& contact) {
  std::lock_guard lock(mutex_);
  Mailbox& box = mailbox(contact);
  ++box.typing;
  return wake(box);
}

Mailboxes::Read Mailboxes::read(const std::string& contact, uint64_t after) {
  std::lock_guard lock(mutex_);
  Mailbox& box = mailbox(contact);
  Read out;
  out.next = after;
  for (const Stored& s : box.replies) {
    uint64_t seq = s.reply["seq"].get<uint64_t>();
    if (seq > after) {
      out.replies.push_back(s.reply);
      out.next = seq;
    }
  }
  out.typing = box.typing;
  out.dropped = box.dropped;
  out.arrived = box.arrived;
  return out;
}

uint64_t Mailboxes::droppedTotal() const {
  std::lock_guard lock(mutex_);
  return dropped_total_;
}

std::size_t Mailboxes::totalBytes() const {
  std::lock_guard lock(mutex_);
  return total_bytes_;
}

Mailboxes::Mailbox& Mailboxes::mailbox(const std::string& contact) {
  auto it = mailboxes_.find(contact);
  if (it == mailboxes_.end()) {
    while (mailboxes_.size() >= limits_.contacts && !touched_.empty()) {
      auto oldest = touched_.begin();
      auto gone = mailboxes_.find(oldest->second);
      total_bytes_ -= gone->second.bytes;
      mailboxes_.erase(gone);
      touched_.erase(oldest);
    }
    it = mailboxes_.emplace(contact, Mailbox{}).first;
  } else {
    touched_.erase(it->second.touch);
  }
  it->second.touch = ++clock_;
  touched_.emplace(it->second.touch, contact);
  return it->second;
}

void Mailboxes::dropOldest(Mailbox& box) {
  box.bytes -= box.replies.front().bytes;
  total_bytes_ -= box.replies.front().bytes;
  box.replies.pop_front();
  ++box.dropped;
  ++dropped_total_;
}

void Mailboxes::fitTotal(const Mailbox& keep) {
  auto next = touched_.begin();
  while (total_bytes_ > limits_.total_bytes && next != touched_.end()) {
    Mailbox& box = mailboxes_.find(next->second)->second;
    const std::size_t spare = &box == &keep ? 1 : 0;  // the reply just queued stays
    if (box.replies.size() > spare) {
      dropOldest(box);
    } else {
      ++next;
    }
  }
}

waflow::Signal Mailboxes::wake(Mailbox& box) {
  waflow::Signal fired = box.arrived;
  box.arrived = waflow::Signal();
  return fired;
}

}  // namespace waflow::sandbox
