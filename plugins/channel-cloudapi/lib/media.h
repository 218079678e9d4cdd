// Cloud API media over the SDK host's HTTP (protocols.md §A.8): download an inbound media id to
// a file (URL lookup, authenticated fetch, size / SHA-256 / MIME checks, atomic write) and upload
// bytes as multipart/form-data to get a media id for sending.
//
// Failures throw waflow::Error with the Rc of graph_errors (kRetry for transient answers, kAuth
// for a dead token, kInvalid for over-limit media, kError for integrity mismatches).
//
// Thread-safety: the coroutines keep no shared state; several may run at once. They resume on
// host threads, where the file is written (synchronously: at most max_media_bytes).
#pragma once

#include "channel_config.h"

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
  std::string sha256;  // lowercase hex of the bytes written
};

// Downloads media `media_id`. `expected_mime` / `expected_sha256` (from the webhook; the hash as
// hex or base64) are checked when non-empty. Fetches the short-lived URL again once if the
// download answers 401, 403 or 404. Requires config.media_dir.
waflow::Task<DownloadedMedia> downloadMedia(waflow::Host& host, const ChannelConfig& config,
                                            std::string media_id, std::string expected_mime,
                                            std::string expected_sha256);

// Uploads `bytes` (Meta keeps them 30 days) and returns the new media id.
waflow::Task<std::string> uploadMedia(waflow::Host& host, const ChannelConfig& config,
                                      std::string bytes, std::string mime_type,
                                      std::string filename);

// Lowercase hex SHA-256 of `data`.
std::string sha256Hex(std::string_view data);

// `hash` (64 hex digits, or standard/URL-safe base64 of 32 bytes) as lowercase hex; "" when it is
// neither.
std::string normalizeSha256(std::string_view hash);

// File extension (without the dot) for a MIME type, ignoring parameters; "bin" when unknown.
std::string extensionForMime(std::string_view mime_type);

}  // namespace waflow::cloudapi
