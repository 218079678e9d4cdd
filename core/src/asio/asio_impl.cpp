// The one translation unit that compiles Asio and Beast. Everything else
// includes their headers with BOOST_ASIO_SEPARATE_COMPILATION and
// BOOST_BEAST_SEPARATE_COMPILATION defined, which keeps the 2-core build fast.
#include <boost/asio/impl/src.hpp>
#include <boost/beast/src.hpp>
