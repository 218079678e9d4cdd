// Which hosts channel-cloudapi may send its access token to when downloading media
// (the `media_hosts` setting). The Graph API's answer names the download URL; without this
// check a forged or compromised answer could send the token anywhere.
//
// A URL is allowed when it is https:// (or http:// to a loopback address, for tests and local
// fakes), carries no user-info, and its host equals an entry of the list or, for an entry
// "*.example.com", is a subdomain of example.com. Host names are compared case-insensitively.
// URLs with characters a well-formed Meta URL never has in its authority are refused rather
// than interpreted, so this check and libcurl cannot disagree on the host.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace waflow::cloudapi {

// "" when `url` may receive the token; otherwise why not, naming the host and the setting.
std::string refuseMediaUrl(std::string_view url, const std::vector<std::string>& allowed_hosts);

// "" when `pattern` is a valid media_hosts entry ("host.name" or "*.domain.name");
// otherwise what is wrong with it.
std::string checkMediaHostPattern(std::string_view pattern);

}  // namespace waflow::cloudapi
