/*
 * np_gunzip (np_gunzip.h) for JavaScript, in plain Node-API (no C++: the addon builds in a second):
 *
 *   const gunzip = new Gunzip(fd)           the fd stays the caller's to close
 *   gunzip.read(buffer, at, want) -> n      bytes inflated into buffer[at, at + n); 0 at the end
 *   gunzip.damage                           why it ended early, or null
 *   gunzip.fileBytesRead                    compressed bytes read so far
 *   gunzip.close()                          frees zlib's state now rather than at collection
 */
#include <errno.h>
#include <node_api.h>
#include <string.h>

#include "np_gunzip.h"

#define CHECK(call)                                    \
  do {                                                 \
    if ((call) != napi_ok) return NULL;                \
  } while (0)

static void finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  np_gunzip_close(data);
}

static np_gunzip *unwrap(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv) {
  napi_value self;
  void *data = NULL;
  if (napi_get_cb_info(env, info, argc, argv, &self, NULL) != napi_ok) return NULL;
  if (napi_unwrap(env, self, &data) != napi_ok || data == NULL) {
    napi_throw_error(env, NULL, "Gunzip: closed");
    return NULL;
  }
  return data;
}

static napi_value construct(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], self;
  int32_t fd;
  CHECK(napi_get_cb_info(env, info, &argc, argv, &self, NULL));
  if (argc < 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) {
    napi_throw_type_error(env, NULL, "Gunzip(fd): a file descriptor");
    return NULL;
  }
  np_gunzip *g = np_gunzip_open(fd);
  if (!g) {
    napi_throw_error(env, "ENOMEM", "Gunzip: out of memory");
    return NULL;
  }
  if (napi_wrap(env, self, g, finalize, NULL, NULL) != napi_ok) {
    np_gunzip_close(g);
    return NULL;
  }
  return self;
}

static napi_value read_into(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], result;
  np_gunzip *g = unwrap(env, info, &argc, argv);
  if (!g) return NULL;
  void *bytes;
  size_t length;
  int64_t at, want;
  if (argc < 3 || napi_get_buffer_info(env, argv[0], &bytes, &length) != napi_ok ||
      napi_get_value_int64(env, argv[1], &at) != napi_ok || napi_get_value_int64(env, argv[2], &want) != napi_ok ||
      at < 0 || want < 0 || (uint64_t)at > length || (uint64_t)want > length - (uint64_t)at) {
    napi_throw_range_error(env, NULL, "Gunzip.read(buffer, at, want): a range inside the buffer");
    return NULL;
  }
  long n = np_gunzip_read(g, (unsigned char *)bytes + at, (size_t)want);
  if (n < 0) {
    /* As Node's readSync would fail: the code names the cause (EIO, ...), which the CLI reports. */
    int err = errno;
    napi_throw_error(env, err == EIO ? "EIO" : err == EISDIR ? "EISDIR" : NULL, strerror(err));
    return NULL;
  }
  CHECK(napi_create_int64(env, n, &result));
  return result;
}

static napi_value damage(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  napi_value result;
  np_gunzip *g = unwrap(env, info, &argc, NULL);
  if (!g) return NULL;
  const char *why = np_gunzip_damage(g);
  if (why) CHECK(napi_create_string_utf8(env, why, NAPI_AUTO_LENGTH, &result));
  else CHECK(napi_get_null(env, &result));
  return result;
}

static napi_value file_bytes_read(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  napi_value result;
  np_gunzip *g = unwrap(env, info, &argc, NULL);
  if (!g) return NULL;
  CHECK(napi_create_double(env, (double)np_gunzip_file_bytes_read(g), &result));
  return result;
}

static napi_value close_now(napi_env env, napi_callback_info info) {
  napi_value self;
  void *data = NULL;
  CHECK(napi_get_cb_info(env, info, NULL, NULL, &self, NULL));
  if (napi_remove_wrap(env, self, &data) == napi_ok) np_gunzip_close(data);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor properties[] = {
      {"read", NULL, read_into, NULL, NULL, NULL, napi_default, NULL},
      {"damage", NULL, NULL, damage, NULL, NULL, napi_default, NULL},
      {"fileBytesRead", NULL, NULL, file_bytes_read, NULL, NULL, napi_default, NULL},
      {"close", NULL, close_now, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_value gunzip;
  CHECK(napi_define_class(env, "Gunzip", NAPI_AUTO_LENGTH, construct, NULL, sizeof properties / sizeof properties[0], properties, &gunzip));
  CHECK(napi_set_named_property(env, exports, "Gunzip", gunzip));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
