/* SO_ORIGINAL_DST for a socket fd: the address a connection was going to before an iptables
 * REDIRECT (or DNAT) rewrote it. Linux only. Used by src/proxy/listener/original-dst.ts.
 *
 * originalDst(fd: number, ipv6: boolean, out: Uint8Array(18)) -> number
 *   0: out[0..1] = port (network order), out[2..5] (IPv4) or out[2..17] (IPv6) = address
 *   otherwise: the errno of getsockopt (ENOENT: the connection was not redirected). */
#include <errno.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <node_api.h>

/* linux/netfilter_ipv4.h SO_ORIGINAL_DST and linux/netfilter_ipv6/ip6_tables.h IP6T_SO_ORIGINAL_DST:
 * both 80 (spelt out so the build needs no kernel headers). */
#define WEFT_SO_ORIGINAL_DST 80

static napi_value original_dst(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_value result;
  int32_t fd = -1;
  bool ipv6 = false;
  napi_typedarray_type type;
  size_t length = 0;
  void *data = NULL;
  int err = 0;

  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3) {
    napi_throw_type_error(env, NULL, "originalDst(fd, ipv6, out) takes three arguments");
    return NULL;
  }
  if (napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) {
    napi_throw_type_error(env, NULL, "fd must be a non-negative integer");
    return NULL;
  }
  if (napi_get_value_bool(env, argv[1], &ipv6) != napi_ok) {
    napi_throw_type_error(env, NULL, "ipv6 must be a boolean");
    return NULL;
  }
  if (napi_get_typedarray_info(env, argv[2], &type, &length, &data, NULL, NULL) != napi_ok || type != napi_uint8_array || length < 18) {
    napi_throw_type_error(env, NULL, "out must be a Uint8Array of at least 18 bytes");
    return NULL;
  }
  if (ipv6) {
    struct sockaddr_in6 sa;
    socklen_t len = sizeof sa;
    if (getsockopt(fd, SOL_IPV6, WEFT_SO_ORIGINAL_DST, &sa, &len) != 0) err = errno;
    else {
      memcpy((char *)data, &sa.sin6_port, 2);
      memcpy((char *)data + 2, &sa.sin6_addr, 16);
    }
  } else {
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    if (getsockopt(fd, SOL_IP, WEFT_SO_ORIGINAL_DST, &sa, &len) != 0) err = errno;
    else {
      memcpy((char *)data, &sa.sin_port, 2);
      memcpy((char *)data + 2, &sa.sin_addr, 4);
    }
  }
  napi_create_int32(env, err, &result);
  return result;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  if (napi_create_function(env, "originalDst", NAPI_AUTO_LENGTH, original_dst, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "originalDst", fn) != napi_ok) return NULL;
  return exports;
}
