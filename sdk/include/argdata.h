/*
 * <argdata.h> - a read-only argdata decoder for CloudABI programs.
 *
 * Argdata is the structured argument data a CloudABI program receives
 * from its launcher (see program_main() in <program.h>). The function
 * names and return conventions follow cloudlibc's / libargdata's
 * <argdata.h>, so programs written against that API compile unchanged
 * as long as they only read argdata. Functions that only exist in this
 * SDK carry the sdk_argdata_ prefix.
 *
 * Errors are returned as CloudABI errno values (CLOUDABI_EINVAL etc.):
 *   EINVAL  the value has another type, or its encoding is malformed;
 *   ERANGE  an integer or timestamp does not fit the requested type;
 *   EILSEQ  a string is not valid UTF-8 (argdata_get_str_c also
 *           rejects strings with embedded NUL bytes);
 *   EBADF   an fd value is not representable as an int.
 * The decoder never reads outside the buffer it was given, whatever
 * the buffer contains.
 */
#ifndef CLOUDABI_SDK_ARGDATA_H
#define CLOUDABI_SDK_ARGDATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Type tags of the encoding (first byte of an encoded value). */
#define SDK_ARGDATA_NULL 0 /* empty encoding; sdk_argdata_type() only */
#define SDK_ARGDATA_BINARY 1
#define SDK_ARGDATA_BOOL 2
#define SDK_ARGDATA_FD 3
#define SDK_ARGDATA_FLOAT 4
#define SDK_ARGDATA_INT 5
#define SDK_ARGDATA_MAP 6
#define SDK_ARGDATA_SEQ 7
#define SDK_ARGDATA_STR 8
#define SDK_ARGDATA_TIMESTAMP 9

/*
 * A view of one argdata value. Treat the fields as private: they are
 * exposed only so that values and iterators can live on the stack.
 */
#ifndef argdata_t
typedef struct argdata_t {
  const unsigned char *buf_; /* encoded value (or string bytes) */
  size_t len_;
  int kind_; /* 0: encoded, 1: argv list, 2: argv string */
} argdata_t;
#define argdata_t argdata_t
#endif

/* Iterators. `error` is 0, or EINVAL when the container was not of the
 * right type or turned out to be malformed. */
typedef struct {
  int error;
  int valid_; /* a current key/value pair is available */
  const unsigned char *buf_;
  size_t len_;
  size_t next_; /* offset just after the current pair */
  argdata_t key_;
  argdata_t value_;
} argdata_map_iterator_t;

typedef struct {
  int error;
  int valid_;
  const unsigned char *buf_;
  size_t len_;
  size_t next_;
  int kind_;
  argdata_t value_;
} argdata_seq_iterator_t;

/* Constant values. */
extern const argdata_t argdata_null;
extern const argdata_t argdata_true;
extern const argdata_t argdata_false;

/* Scalar accessors (cloudlibc / libargdata names). */
int argdata_get_binary(const argdata_t *ad, const void **buf, size_t *len);
int argdata_get_bool(const argdata_t *ad, bool *value);
int argdata_get_fd(const argdata_t *ad, int *fd);
int argdata_get_float(const argdata_t *ad, double *value);
int argdata_get_int_s(const argdata_t *ad, intmax_t *value, intmax_t min,
                      intmax_t max);
int argdata_get_int_u(const argdata_t *ad, uintmax_t *value, uintmax_t max);
/* `*str` points into the argdata and is followed by a NUL byte. `*len`
 * excludes the NUL. */
int argdata_get_str(const argdata_t *ad, const char **str, size_t *len);
int argdata_get_str_c(const argdata_t *ad, const char **str);

/* Maps: iterate / get / next, as in libargdata:
 *
 *   argdata_map_iterator_t it;
 *   const argdata_t *key, *value;
 *   argdata_map_iterate(ad, &it);
 *   while (argdata_map_get(&it, &key, &value)) {
 *     ...;
 *     argdata_map_next(&it);
 *   }
 *
 * *key and *value point into the iterator and are valid until it moves. */
void argdata_map_iterate(const argdata_t *ad, argdata_map_iterator_t *it);
bool argdata_map_get(const argdata_map_iterator_t *it, const argdata_t **key,
                     const argdata_t **value);
void argdata_map_next(argdata_map_iterator_t *it);

/* Sequences, likewise. */
void argdata_seq_iterate(const argdata_t *ad, argdata_seq_iterator_t *it);
bool argdata_seq_get(const argdata_seq_iterator_t *it,
                     const argdata_t **element);
void argdata_seq_next(argdata_seq_iterator_t *it);

/* Callback iteration (the older cloudlibc interface). The callback
 * returns false to stop early. Returns 0 or EINVAL. */
int argdata_iterate_map(const argdata_t *ad, void *arg,
                        bool (*fn)(const argdata_t *key,
                                   const argdata_t *value, void *arg));
int argdata_iterate_seq(const argdata_t *ad, void *arg,
                        bool (*fn)(const argdata_t *element, void *arg));

/* ---- SDK extensions ---- */

/* Makes `ad` a view of the encoded argdata in buf[0..len). Nothing is
 * copied; the buffer must outlive `ad` and everything read from it. */
void sdk_argdata_init(argdata_t *ad, const void *buf, size_t len);

/* Makes `ad` a sequence of strings from NUL-separated strings in
 * buf[0..len) (the "argv" form). A trailing part without a NUL ends
 * the iteration with error EINVAL. */
void sdk_argdata_init_argv(argdata_t *ad, const void *buf, size_t len);

/* Returns the type tag (SDK_ARGDATA_*) of a value, SDK_ARGDATA_NULL for
 * the empty encoding, or -1 for an unknown tag. */
int sdk_argdata_type(const argdata_t *ad);

/* Timestamps as nanoseconds since 1970-01-01T00:00:00Z. */
int sdk_argdata_get_timestamp_ns(const argdata_t *ad, int64_t *ns);

/* Looks up the value of the first map entry whose key is the string
 * `key` and copies it to *value. Returns 0, CLOUDABI_ENOENT when there
 * is no such key, or EINVAL when `ad` is not a well-formed map. */
int sdk_argdata_map_lookup(const argdata_t *ad, const char *key,
                           argdata_t *value);

/* argdata_get_int(ad, &x) for any integer type of x, as in libargdata. */
#define SDK_ARGDATA_GET_INT_S_(name, type, min, max)                     \
  static inline int argdata_get_int_##name(const argdata_t *ad_,         \
                                           type *value_) {               \
    intmax_t v_;                                                         \
    int e_ = argdata_get_int_s(ad_, &v_, (min), (max));                  \
    if (e_ == 0)                                                         \
      *value_ = (type)v_;                                                \
    return e_;                                                           \
  }
#define SDK_ARGDATA_GET_INT_U_(name, type, max)                          \
  static inline int argdata_get_int_##name(const argdata_t *ad_,         \
                                           type *value_) {               \
    uintmax_t v_;                                                        \
    int e_ = argdata_get_int_u(ad_, &v_, (max));                         \
    if (e_ == 0)                                                         \
      *value_ = (type)v_;                                                \
    return e_;                                                           \
  }
#ifdef __CHAR_UNSIGNED__
SDK_ARGDATA_GET_INT_U_(char, char, __SCHAR_MAX__ * 2U + 1U)
#else
SDK_ARGDATA_GET_INT_S_(char, char, -__SCHAR_MAX__ - 1, __SCHAR_MAX__)
#endif
SDK_ARGDATA_GET_INT_S_(schar, signed char, -__SCHAR_MAX__ - 1, __SCHAR_MAX__)
SDK_ARGDATA_GET_INT_U_(uchar, unsigned char, __SCHAR_MAX__ * 2U + 1U)
SDK_ARGDATA_GET_INT_S_(short, short, -__SHRT_MAX__ - 1, __SHRT_MAX__)
SDK_ARGDATA_GET_INT_U_(ushort, unsigned short, __SHRT_MAX__ * 2U + 1U)
SDK_ARGDATA_GET_INT_S_(int, int, -__INT_MAX__ - 1, __INT_MAX__)
SDK_ARGDATA_GET_INT_U_(uint, unsigned int, __INT_MAX__ * 2U + 1U)
SDK_ARGDATA_GET_INT_S_(long, long, -__LONG_MAX__ - 1L, __LONG_MAX__)
SDK_ARGDATA_GET_INT_U_(ulong, unsigned long, __LONG_MAX__ * 2UL + 1UL)
SDK_ARGDATA_GET_INT_S_(llong, long long, -__LONG_LONG_MAX__ - 1LL,
                       __LONG_LONG_MAX__)
SDK_ARGDATA_GET_INT_U_(ullong, unsigned long long,
                       __LONG_LONG_MAX__ * 2ULL + 1ULL)
#undef SDK_ARGDATA_GET_INT_S_
#undef SDK_ARGDATA_GET_INT_U_

#ifndef __cplusplus
#define argdata_get_int(ad, value)                      \
  _Generic(*(value),                                    \
      char: argdata_get_int_char,                       \
      signed char: argdata_get_int_schar,               \
      unsigned char: argdata_get_int_uchar,             \
      short: argdata_get_int_short,                     \
      unsigned short: argdata_get_int_ushort,           \
      int: argdata_get_int_int,                         \
      unsigned int: argdata_get_int_uint,               \
      long: argdata_get_int_long,                       \
      unsigned long: argdata_get_int_ulong,             \
      long long: argdata_get_int_llong,                 \
      unsigned long long: argdata_get_int_ullong)(ad, value)
#endif

#ifdef __cplusplus
}
#endif

#endif
