// Cloud API media over the SDK host's HTTP (protocols.md §A.8): download an inbound media id to
// a file (URL lookup, a check that the URL's host may receive the token, an authenticated fetch
// streamed by the host into a partial file and aborted past max_media_bytes, size / SHA-256 /
// MIME checks, then a move into media_dir within its quota) and upload bytes as
// multipart/form-data to get a media id for sending.
//
// Failures throw waflow::Error with the Rc of graph_errors (kRetry for transient answers, kAuth
// for a dead token, kInvalid for refused media, kError for integrity mismatches); refusals by
// policy throw its subclass MediaRefused, whose reason() names the rule.
//
// Thread-safety: the coroutines keep no shared state besides the thread-safe MediaStore; several
// may run at once. The body never passes through memory: the host writes it to the file.
#pragma once

#include "channel_config.h"
#include "media_store.h"

#include <waflow/sdk/host.hpp>
#include <waflow/sdk/task.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace waflow::cloudapi {

struct DownloadedMedia {
  std::string path;       // <media_dir>/<media id>.<ext>
  std::string mime_type;  // as Meta reports it, e.g. "audio/ogg; codecs=opus"
  uint64_t size = 0;
  std::string sha256;       // lowercase hex of the bytes written
  std::size_t evicted = 0;  // older files deleted to keep media_dir within media_quota
};

// A download refused by a rule rather than failed: reason() is "too_large" (max_media_bytes),
// "host_not_allowed" (media_hosts, or plain http) or "quota" (larger than media_quota).
class MediaRefused : public waflow::Error {
 public:
  MediaRefused(std::string reason, const std::string& message)
      : waflow::Error(waflow::Rc::kInvalid, message), reason_(std::move(reason)) {}
  const std::string& reason() const noexcept { return reason_; }

 private:
  std::string reason_;
};

// Downloads media `media_id` into `store` (config.media_dir). `expected_mime` /
// `expected_sha256` (from the webhook; the hash as hex or base64) are checked when non-empty.
// Fetches the short-lived URL again once if the download answers 401, 403 or 404.
waflow::Task<DownloadedMedia> downloadMedia(waflow::Host& host, const ChannelConfig& config,
                                            MediaStore& store, std::string media_id,
                                            std::string expected_mime, std::string expected_sha256);

// Uploads `bytes` (Meta keeps them 30 days) and returns the new media id.
waflow::Task<std::string> uploadMedia(waflow::Host& host, const ChannelConfig& config,
                                      std::string bytes, std::string mime_type,
                                      std::string filename);

// Lowercase hex of `size` bytes.
std::string hexOf(const void* data, std::size_t size);

// `bytes` random bytes (OpenSSL's generator) as lowercase hex.
std::string randomHex(std::size_t bytes);

// Lowercase hex SHA-256 of `data`.
std::string sha256Hex(std::string_view data);

// Lowercase hex SHA-256 of the file at `path`, read in blocks; throws waflow::Error if unreadable.
std::string sha256OfFile(const std::string& path);

// `hash` (64 hex digits, or standard/URL-safe base64 of 32 bytes) as lowercase hex; "" when it is
// neither.
std::string normalizeSha256(std::string_view hash);

// File extension (without the dot) for a MIME type, ignoring parameters; "bin" when unknown.
std::string extensionForMime(std::string_view mime_type);

}  // namespace waflow::cloudapi
