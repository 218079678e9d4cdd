#include "media.h"

#include "graph_errors.h"
#include "media_hosts.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <nlohmann/json.hpp>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <system_error>
#include <vector>

namespace waflow::cloudapi {
namespace {

using nlohmann::json;
using waflow::Rc;
namespace fs = std::filesystem;

constexpr uint64_t kMaxUploadBytes = 100ull * 1024 * 1024;  // Meta's overall cap (§A.8)

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

// "Audio/OGG; codecs=opus" → "audio/ogg".
std::string baseMime(std::string_view mime) {
  std::string_view base = mime.substr(0, mime.find(';'));
  while (!base.empty() && base.back() == ' ') {
    base.remove_suffix(1);
  }
  while (!base.empty() && base.front() == ' ') {
    base.remove_prefix(1);
  }
  return lower(base);
}

std::string bearer(const ChannelConfig& config) {
  return "Bearer " + config.access_token;
}

// Meta media ids are digits; anything outside a safe file-name alphabet would let a forged id
// escape media_dir.
void checkMediaId(const std::string& id) {
  bool ok = !id.empty() && id.size() <= 128 && id.front() != '.' &&
            id.find_first_not_of(
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
                ".") == std::string::npos;
  if (!ok) {
    throw waflow::Error(Rc::kInvalid, "media id '" + id + "' is not a valid Meta media id");
  }
}

int base64Value(char c) {
  if (c >= 'A' && c <= 'Z') {
    return c - 'A';
  }
  if (c >= 'a' && c <= 'z') {
    return c - 'a' + 26;
  }
  if (c >= '0' && c <= '9') {
    return c - '0' + 52;
  }
  if (c == '+' || c == '-') {
    return 62;
  }
  if (c == '/' || c == '_') {
    return 63;
  }
  return -1;
}

// Standard or URL-safe base64, padding optional; nullopt-like empty result on bad input.
bool base64Decode(std::string_view in, std::string& out) {
  while (!in.empty() && in.back() == '=') {
    in.remove_suffix(1);
  }
  out.clear();
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v = base64Value(c);
    if (v < 0) {
      return false;
    }
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  return true;
}

struct MediaInfo {
  std::string url;
  std::string mime_type;
  std::string sha256;  // as Meta sent it
  uint64_t file_size = 0;
};

waflow::Task<MediaInfo> fetchMediaInfo(waflow::Host& host, const ChannelConfig& config,
                                       const std::string& media_id) {
  waflow::HttpRequest req;
  req.method = "GET";
  req.url = config.graphUrl(media_id) + "?phone_number_id=" + config.phone_number_id;
  req.headers = {{"Authorization", bearer(config)}};
  req.timeout = config.timeout;
  waflow::HttpResponse resp = co_await host.http(std::move(req));
  SendOutcome outcome = classify(resp);
  if (!outcome.ok()) {
    throw outcome.toError("looking up media " + media_id);
  }
  json body = json::parse(resp.body, nullptr, false);
  MediaInfo info;
  if (body.is_object()) {
    info.url = body.value("url", "");
    info.mime_type = body.value("mime_type", "");
    info.sha256 = body.value("sha256", "");
    if (auto size = body.find("file_size"); size != body.end()) {
      if (size->is_number_unsigned() || size->is_number_integer()) {
        info.file_size = size->get<uint64_t>();
      } else if (size->is_string()) {
        info.file_size = std::strtoull(size->get<std::string>().c_str(), nullptr, 10);
      }
    }
  }
  if (info.url.empty()) {
    throw waflow::Error(
        Rc::kRetry, "looking up media " + media_id + ": the Graph API answer has no download url");
  }
  co_return info;
}

void checkSize(const std::string& media_id, uint64_t size, const ChannelConfig& config) {
  if (size > config.max_media_bytes) {
    throw MediaRefused("too_large", "media " + media_id + " is " + std::to_string(size) +
                                        " bytes, over max_media_bytes (" +
                                        std::to_string(config.max_media_bytes) +
                                        "); raise max_media_bytes to keep such files");
  }
}

void checkFitsQuota(const MediaStore& store, const std::string& media_id, uint64_t size) {
  try {
    store.checkFits("media " + media_id, size);
  } catch (const waflow::Error& e) {
    throw MediaRefused("quota", std::string(e.what()) + "; raise media_quota to keep such files");
  }
}

void checkMediaHost(const std::string& media_id, const std::string& url,
                    const ChannelConfig& config) {
  if (std::string why = refuseMediaUrl(url, config.media_hosts); !why.empty()) {
    throw MediaRefused("host_not_allowed", "media " + media_id + " not downloaded: " + why);
  }
}

// Deletes a partial download unless it was handed on (release()).
class PartialFile {
 public:
  explicit PartialFile(fs::path path) : path_(std::move(path)) {}
  ~PartialFile() {
    if (!path_.empty()) {
      std::error_code ignored;
      fs::remove(path_, ignored);
    }
  }
  PartialFile(const PartialFile&) = delete;
  PartialFile& operator=(const PartialFile&) = delete;
  const fs::path& path() const { return path_; }
  void release() { path_.clear(); }

 private:
  fs::path path_;
};

void checkHash(const std::string& media_id, const std::string& actual_hex,
               const std::string& claimed, const char* source) {
  if (claimed.empty()) {
    return;
  }
  std::string expected = normalizeSha256(claimed);
  if (expected.empty()) {
    throw waflow::Error(Rc::kError, "media " + media_id + ": " + source + " sha256 '" + claimed +
                                        "' is neither hex nor base64 of a SHA-256");
  }
  if (expected != actual_hex) {
    throw waflow::Error(Rc::kError, "media " + media_id + ": SHA-256 of the download (" +
                                        actual_hex + ") does not match the " + source + " (" +
                                        expected + "); the file was not kept");
  }
}

// Characters that would break the Content-Disposition header are replaced.
std::string safeFilename(std::string_view name) {
  std::string out;
  for (char c : name) {
    out += (c == '"' || c == '\\' || c == '\r' || c == '\n' || c == '/') ? '_' : c;
  }
  return out.empty() ? std::string("file") : out;
}

}  // namespace

std::string hexOf(const void* data, std::size_t size) {
  static constexpr char kHex[] = "0123456789abcdef";
  const auto* bytes = static_cast<const unsigned char*>(data);
  std::string out;
  out.reserve(size * 2);
  for (std::size_t i = 0; i < size; ++i) {
    out += kHex[bytes[i] >> 4];
    out += kHex[bytes[i] & 0xF];
  }
  return out;
}

std::string randomHex(std::size_t bytes) {
  std::string raw(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1) {
    throw waflow::Error(Rc::kError, "OpenSSL RAND_bytes failed");
  }
  return hexOf(raw.data(), raw.size());
}

std::string sha256Hex(std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), digest.data(), &len, EVP_sha256(), nullptr) != 1) {
    throw waflow::Error(Rc::kError, "OpenSSL SHA-256 failed");
  }
  return hexOf(digest.data(), len);
}

std::string sha256OfFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw waflow::Error(Rc::kError, "cannot read " + path + ": " + std::strerror(errno));
  }
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) {
    throw waflow::Error(Rc::kError, "OpenSSL SHA-256 failed");
  }
  std::vector<char> block(1 << 20);
  while (in) {
    in.read(block.data(), static_cast<std::streamsize>(block.size()));
    if (in.gcount() > 0 &&
        EVP_DigestUpdate(ctx.get(), block.data(), static_cast<std::size_t>(in.gcount())) != 1) {
      throw waflow::Error(Rc::kError, "OpenSSL SHA-256 failed");
    }
  }
  if (in.bad()) {
    throw waflow::Error(Rc::kError, "cannot read " + path);
  }
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx.get(), digest.data(), &len) != 1) {
    throw waflow::Error(Rc::kError, "OpenSSL SHA-256 failed");
  }
  return hexOf(digest.data(), len);
}

std::string normalizeSha256(std::string_view hash) {
  if (hash.size() == 64 &&
      hash.find_first_not_of("0123456789abcdefABCDEF") == std::string_view::npos) {
    return lower(hash);
  }
  std::string raw;
  if (!base64Decode(hash, raw) || raw.size() != 32) {
    return {};
  }
  return hexOf(raw.data(), raw.size());
}

std::string extensionForMime(std::string_view mime_type) {
  static constexpr std::pair<std::string_view, std::string_view> kExtensions[] = {
      {"image/jpeg", "jpg"},
      {"image/png", "png"},
      {"image/webp", "webp"},
      {"image/gif", "gif"},
      {"audio/ogg", "ogg"},
      {"audio/opus", "opus"},
      {"audio/mpeg", "mp3"},
      {"audio/mp4", "m4a"},
      {"audio/aac", "aac"},
      {"audio/amr", "amr"},
      {"video/mp4", "mp4"},
      {"video/3gpp", "3gp"},
      {"application/pdf", "pdf"},
      {"text/plain", "txt"},
      {"text/csv", "csv"},
      {"application/msword", "doc"},
      {"application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx"},
      {"application/vnd.ms-excel", "xls"},
      {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"},
      {"application/vnd.ms-powerpoint", "ppt"},
      {"application/vnd.openxmlformats-officedocument.presentationml.presentation", "pptx"},
      {"application/zip", "zip"},
  };
  std::string base = baseMime(mime_type);
  for (const auto& [mime, ext] : kExtensions) {
    if (base == mime) {
      return std::string(ext);
    }
  }
  return "bin";
}

waflow::Task<DownloadedMedia> downloadMedia(waflow::Host& host, const ChannelConfig& config,
                                            MediaStore& store, std::string media_id,
                                            std::string expected_mime,
                                            std::string expected_sha256) {
  checkMediaId(media_id);
  MediaInfo info = co_await fetchMediaInfo(host, config, media_id);
  // Graph's file_size is only a hint: a liar is caught on the bytes received below.
  checkSize(media_id, info.file_size, config);
  checkFitsQuota(store, media_id, info.file_size);
  if (!expected_mime.empty() && !info.mime_type.empty() &&
      baseMime(expected_mime) != baseMime(info.mime_type)) {
    throw waflow::Error(Rc::kError, "media " + media_id + ": the webhook said " + expected_mime +
                                        " but the Graph API reports " + info.mime_type);
  }

  PartialFile partial(store.temporaryPath(media_id));
  waflow::HttpResponse resp;
  for (int attempt = 0; attempt < 2; ++attempt) {
    checkMediaHost(media_id, info.url, config);
    waflow::HttpRequest req;
    req.method = "GET";
    req.url = info.url;
    req.headers = {{"Authorization", bearer(config)}};
    req.timeout = config.timeout;
    req.response_file = partial.path().string();
    req.max_response_bytes = config.max_media_bytes;
    resp = co_await host.http(std::move(req));
    bool stale_url =
        resp.transportOk() && (resp.status == 401 || resp.status == 403 || resp.status == 404);
    if (!stale_url || attempt == 1) {
      break;
    }
    // The URL lives about 5 minutes (§A.8): ask for a fresh one once.
    info = co_await fetchMediaInfo(host, config, media_id);
  }
  if (resp.error == WAFLOW_HTTP_TOO_LARGE) {
    throw MediaRefused("too_large", "media " + media_id +
                                        ": the download passed max_media_bytes (" +
                                        std::to_string(config.max_media_bytes) +
                                        ") and was aborted; nothing was kept");
  }
  SendOutcome outcome = classify(resp);
  if (!outcome.ok()) {
    throw outcome.toError("downloading media " + media_id);
  }
  std::error_code ec;
  uint64_t size = fs::file_size(partial.path(), ec);
  if (ec) {
    throw waflow::Error(Rc::kError, "media " + media_id + ": the download left no file at " +
                                        partial.path().string() + ": " + ec.message());
  }
  if (info.file_size > 0 && size != info.file_size) {
    throw waflow::Error(Rc::kRetry, "media " + media_id + ": downloaded " + std::to_string(size) +
                                        " bytes but the Graph API announced " +
                                        std::to_string(info.file_size));
  }
  std::string actual = sha256OfFile(partial.path().string());
  checkHash(media_id, actual, info.sha256, "Graph API's");
  checkHash(media_id, actual, expected_sha256, "webhook's");

  DownloadedMedia out;
  out.mime_type = !info.mime_type.empty() ? info.mime_type : expected_mime;
  out.size = size;
  out.sha256 = actual;
  std::string name = media_id + "." + extensionForMime(out.mime_type);
  try {
    out.evicted = store.commit(partial.path(), name, size);
  } catch (const waflow::Error& e) {
    partial.release();  // commit() removed it
    if (e.code() == Rc::kInvalid) {
      throw MediaRefused("quota", std::string(e.what()) + "; raise media_quota to keep such files");
    }
    throw;
  }
  partial.release();
  out.path = (store.dir() / name).string();
  co_return out;
}

waflow::Task<std::string> uploadMedia(waflow::Host& host, const ChannelConfig& config,
                                      std::string bytes, std::string mime_type,
                                      std::string filename) {
  if (bytes.empty()) {
    throw waflow::Error(Rc::kInvalid, "media upload: the file is empty");
  }
  if (bytes.size() > kMaxUploadBytes) {
    throw waflow::Error(Rc::kInvalid, "media upload: " + std::to_string(bytes.size()) +
                                          " bytes, over Meta's limit of " +
                                          std::to_string(kMaxUploadBytes));
  }
  if (mime_type.empty() || mime_type.find_first_of("\r\n") != std::string::npos) {
    throw waflow::Error(Rc::kInvalid, "media upload: a MIME type such as image/jpeg is required");
  }
  std::string boundary;
  do {
    boundary = "----waflow" + randomHex(12);
  } while (bytes.find(boundary) != std::string::npos);

  std::string body;
  body.reserve(bytes.size() + 512);
  auto field = [&](std::string_view name, std::string_view value) {
    body += "--" + boundary + "\r\n";
    body += "Content-Disposition: form-data; name=\"";
    body += name;
    body += "\"\r\n\r\n";
    body += value;
    body += "\r\n";
  };
  field("messaging_product", "whatsapp");
  field("type", mime_type);
  body += "--" + boundary + "\r\n";
  body += "Content-Disposition: form-data; name=\"file\"; filename=\"" + safeFilename(filename) +
          "\"\r\n";
  body += "Content-Type: " + mime_type + "\r\n\r\n";
  body += bytes;
  body += "\r\n--" + boundary + "--\r\n";

  waflow::HttpRequest req;
  req.method = "POST";
  req.url = config.graphUrl(config.phone_number_id + "/media");
  req.headers = {{"Authorization", bearer(config)},
                 {"Content-Type", "multipart/form-data; boundary=" + boundary}};
  req.body = std::move(body);
  req.timeout = config.timeout;
  waflow::HttpResponse resp = co_await host.http(std::move(req));
  SendOutcome outcome = classify(resp);
  if (!outcome.ok()) {
    throw outcome.toError("uploading media");
  }
  if (outcome.provider_message_id.empty()) {
    throw waflow::Error(Rc::kError, "uploading media: the Graph API answer has no media id: " +
                                        resp.body.substr(0, 200));
  }
  co_return outcome.provider_message_id;
}

}  // namespace waflow::cloudapi
