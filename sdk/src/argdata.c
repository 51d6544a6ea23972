/*
 * Read-only argdata decoder. See <argdata.h> for the interface and
 * sdk/README.md for the encoding. Every read is bounds-checked against
 * the buffer the value was created from.
 */
#include <argdata.h>
#include <cloudabi_sdk.h>

enum {
  KIND_ENCODED = 0,  /* buf_/len_ hold an encoded value (tag + body) */
  KIND_ARGV = 1,     /* buf_/len_ hold NUL-separated strings */
  KIND_ARGV_STR = 2, /* buf_/len_ hold string bytes; buf_[len_] == 0 */
};

static const unsigned char true_encoding[2] = {SDK_ARGDATA_BOOL, 1};
static const unsigned char false_encoding[1] = {SDK_ARGDATA_BOOL};

const argdata_t argdata_null = {NULL, 0, KIND_ENCODED};
const argdata_t argdata_true = {true_encoding, 2, KIND_ENCODED};
const argdata_t argdata_false = {false_encoding, 1, KIND_ENCODED};

void sdk_argdata_init(argdata_t *ad, const void *buf, size_t len) {
  ad->buf_ = buf;
  ad->len_ = buf == NULL ? 0 : len;
  ad->kind_ = KIND_ENCODED;
}

void sdk_argdata_init_argv(argdata_t *ad, const void *buf, size_t len) {
  ad->buf_ = buf;
  ad->len_ = buf == NULL ? 0 : len;
  ad->kind_ = KIND_ARGV;
}

int sdk_argdata_type(const argdata_t *ad) {
  if (ad->kind_ == KIND_ARGV)
    return SDK_ARGDATA_SEQ;
  if (ad->kind_ == KIND_ARGV_STR)
    return SDK_ARGDATA_STR;
  if (ad->len_ == 0)
    return SDK_ARGDATA_NULL;
  if (ad->buf_[0] >= SDK_ARGDATA_BINARY && ad->buf_[0] <= SDK_ARGDATA_TIMESTAMP)
    return ad->buf_[0];
  return -1;
}

/* Yields the body of an encoded value whose type tag is `tag`. */
static bool get_body(const argdata_t *ad, unsigned char tag,
                     const unsigned char **body, size_t *len) {
  if (ad->kind_ != KIND_ENCODED || ad->len_ == 0 || ad->buf_[0] != tag)
    return false;
  *body = ad->buf_ + 1;
  *len = ad->len_ - 1;
  return true;
}

/*
 * Parses the subfield at buf[*off..len): a length in big-endian base 128
 * whose last byte has the high bit set, followed by that many bytes.
 */
static bool get_subfield(const unsigned char *buf, size_t len, size_t *off,
                         size_t *start, size_t *field_len) {
  size_t pos = *off;
  size_t value = 0;
  for (;;) {
    if (pos >= len)
      return false;
    unsigned char c = buf[pos++];
    if (value > (SIZE_MAX >> 7))
      return false;
    value = (value << 7) | (c & 0x7f);
    if ((c & 0x80) != 0)
      break;
  }
  if (value > len - pos)
    return false;
  *start = pos;
  *field_len = value;
  *off = pos + value;
  return true;
}

static bool valid_utf8(const unsigned char *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    unsigned int c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t extra;
    uint32_t cp, min;
    if ((c & 0xe0) == 0xc0) {
      extra = 1, cp = c & 0x1f, min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
      extra = 2, cp = c & 0x0f, min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
      extra = 3, cp = c & 0x07, min = 0x10000;
    } else {
      return false;
    }
    if (extra > n - i - 1)
      return false;
    for (size_t k = 1; k <= extra; ++k) {
      unsigned int d = s[i + k];
      if ((d & 0xc0) != 0x80)
        return false;
      cp = (cp << 6) | (d & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
      return false;
    i += extra + 1;
  }
  return true;
}

/*
 * Decodes a big-endian two's complement integer of any length. On
 * success *negative tells the sign and *bits holds the value as 64-bit
 * two's complement (for non-negative values: the value itself, which
 * may be up to UINT64_MAX).
 */
static int decode_int(const unsigned char *b, size_t n, bool *negative,
                      uint64_t *bits) {
  if (n == 0) {
    *negative = false;
    *bits = 0;
    return 0;
  }
  bool neg = (b[0] & 0x80) != 0;
  /* Drop redundant sign-extension bytes. */
  while (n > 1 && ((b[0] == 0x00 && (b[1] & 0x80) == 0) ||
                   (b[0] == 0xff && (b[1] & 0x80) != 0))) {
    ++b;
    --n;
  }
  if (n > 9)
    return CLOUDABI_ERANGE;
  if (n == 9) {
    /* Only a non-negative value with 64 significant bits fits. */
    if (b[0] != 0x00)
      return CLOUDABI_ERANGE;
    ++b;
    --n;
  }
  uint64_t v = neg ? UINT64_MAX : 0;
  for (size_t i = 0; i < n; ++i)
    v = (v << 8) | b[i];
  *negative = neg;
  *bits = v;
  return 0;
}

int argdata_get_binary(const argdata_t *ad, const void **buf, size_t *len) {
  const unsigned char *b;
  size_t n;
  if (!get_body(ad, SDK_ARGDATA_BINARY, &b, &n))
    return CLOUDABI_EINVAL;
  *buf = b;
  *len = n;
  return 0;
}

int argdata_get_bool(const argdata_t *ad, bool *value) {
  const unsigned char *b;
  size_t n;
  if (!get_body(ad, SDK_ARGDATA_BOOL, &b, &n))
    return CLOUDABI_EINVAL;
  if (n == 0) {
    *value = false;
    return 0;
  }
  if (n == 1 && b[0] == 1) {
    *value = true;
    return 0;
  }
  return CLOUDABI_EINVAL;
}

int argdata_get_fd(const argdata_t *ad, int *fd) {
  const unsigned char *b;
  size_t n;
  if (!get_body(ad, SDK_ARGDATA_FD, &b, &n) || n != 4)
    return CLOUDABI_EINVAL;
  uint32_t v = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
               (uint32_t)b[2] << 8 | (uint32_t)b[3];
  if (v > (uint32_t)__INT_MAX__)
    return CLOUDABI_EBADF;
  *fd = (int)v;
  return 0;
}

int argdata_get_float(const argdata_t *ad, double *value) {
  const unsigned char *b;
  size_t n;
  if (!get_body(ad, SDK_ARGDATA_FLOAT, &b, &n) || n != 8)
    return CLOUDABI_EINVAL;
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i)
    v = (v << 8) | b[i];
  double d;
  memcpy(&d, &v, sizeof(d));
  *value = d;
  return 0;
}

int argdata_get_int_s(const argdata_t *ad, intmax_t *value, intmax_t min,
                      intmax_t max) {
  const unsigned char *b;
  size_t n;
  if (!get_body(ad, SDK_ARGDATA_INT, &b, &n))
    return CLOUDABI_EINVAL;
  bool neg;
  uint64_t bits;
  int error = decode_int(b, n, &neg, &bits);
  if (error != 0)
    return error;
  if (!neg && bits > (uint64_t)INT64_MAX)
    return CLOUDABI_ERANGE;
  int64_t v = (int64_t)bits;
  if (v < min || v > max)
    return CLOUDABI_ERANGE;
  *value = v;
  return 0;
}

int argdata_get_int_u(const argdata_t *ad, uintmax_t *value, uintmax_t max) {
  const unsigned char *b;
  size_t n;
  if (!get_body(ad, SDK_ARGDATA_INT, &b, &n))
    return CLOUDABI_EINVAL;
  bool neg;
  uint64_t bits;
  int error = decode_int(b, n, &neg, &bits);
  if (error != 0)
    return error;
  if (neg || bits > max)
    return CLOUDABI_ERANGE;
  *value = bits;
  return 0;
}

int sdk_argdata_get_timestamp_ns(const argdata_t *ad, int64_t *ns) {
  const unsigned char *b;
  size_t n;
  if (!get_body(ad, SDK_ARGDATA_TIMESTAMP, &b, &n))
    return CLOUDABI_EINVAL;
  bool neg;
  uint64_t bits;
  int error = decode_int(b, n, &neg, &bits);
  if (error != 0)
    return error;
  if (!neg && bits > (uint64_t)INT64_MAX)
    return CLOUDABI_ERANGE;
  *ns = (int64_t)bits;
  return 0;
}

int argdata_get_str(const argdata_t *ad, const char **str, size_t *len) {
  if (ad->kind_ == KIND_ARGV_STR) {
    if (!valid_utf8(ad->buf_, ad->len_))
      return CLOUDABI_EILSEQ;
    *str = (const char *)ad->buf_;
    *len = ad->len_;
    return 0;
  }
  const unsigned char *b;
  size_t n;
  if (!get_body(ad, SDK_ARGDATA_STR, &b, &n) || n == 0 || b[n - 1] != '\0')
    return CLOUDABI_EINVAL;
  if (!valid_utf8(b, n - 1))
    return CLOUDABI_EILSEQ;
  *str = (const char *)b;
  *len = n - 1;
  return 0;
}

int argdata_get_str_c(const argdata_t *ad, const char **str) {
  const char *s;
  size_t len;
  int error = argdata_get_str(ad, &s, &len);
  if (error != 0)
    return error;
  for (size_t i = 0; i < len; ++i) {
    if (s[i] == '\0')
      return CLOUDABI_EILSEQ;
  }
  *str = s;
  return 0;
}

/* Maps. */

static void map_load(argdata_map_iterator_t *it) {
  it->valid_ = 0;
  size_t off = it->next_;
  if (off >= it->len_)
    return;
  size_t ks, kl, vs, vl;
  if (!get_subfield(it->buf_, it->len_, &off, &ks, &kl) ||
      !get_subfield(it->buf_, it->len_, &off, &vs, &vl)) {
    it->error = CLOUDABI_EINVAL;
    it->next_ = it->len_;
    return;
  }
  it->key_ = (argdata_t){it->buf_ + ks, kl, KIND_ENCODED};
  it->value_ = (argdata_t){it->buf_ + vs, vl, KIND_ENCODED};
  it->next_ = off;
  it->valid_ = 1;
}

void argdata_map_iterate(const argdata_t *ad, argdata_map_iterator_t *it) {
  const unsigned char *b;
  size_t n;
  it->error = 0;
  it->valid_ = 0;
  it->buf_ = NULL;
  it->len_ = 0;
  it->next_ = 0;
  if (!get_body(ad, SDK_ARGDATA_MAP, &b, &n)) {
    it->error = CLOUDABI_EINVAL;
    return;
  }
  it->buf_ = b;
  it->len_ = n;
  map_load(it);
}

bool argdata_map_get(const argdata_map_iterator_t *it, const argdata_t **key,
                     const argdata_t **value) {
  if (!it->valid_)
    return false;
  *key = &it->key_;
  *value = &it->value_;
  return true;
}

void argdata_map_next(argdata_map_iterator_t *it) {
  if (it->valid_)
    map_load(it);
}

/* Sequences. */

static void seq_load(argdata_seq_iterator_t *it) {
  it->valid_ = 0;
  size_t off = it->next_;
  if (off >= it->len_)
    return;
  if (it->kind_ == KIND_ARGV) {
    size_t end = off;
    while (end < it->len_ && it->buf_[end] != '\0')
      ++end;
    if (end == it->len_) {
      /* Trailing string without its NUL terminator. */
      it->error = CLOUDABI_EINVAL;
      it->next_ = it->len_;
      return;
    }
    it->value_ = (argdata_t){it->buf_ + off, end - off, KIND_ARGV_STR};
    it->next_ = end + 1;
    it->valid_ = 1;
    return;
  }
  size_t start, len;
  if (!get_subfield(it->buf_, it->len_, &off, &start, &len)) {
    it->error = CLOUDABI_EINVAL;
    it->next_ = it->len_;
    return;
  }
  it->value_ = (argdata_t){it->buf_ + start, len, KIND_ENCODED};
  it->next_ = off;
  it->valid_ = 1;
}

void argdata_seq_iterate(const argdata_t *ad, argdata_seq_iterator_t *it) {
  const unsigned char *b;
  size_t n;
  it->error = 0;
  it->valid_ = 0;
  it->buf_ = NULL;
  it->len_ = 0;
  it->next_ = 0;
  it->kind_ = KIND_ENCODED;
  if (ad->kind_ == KIND_ARGV) {
    it->buf_ = ad->buf_;
    it->len_ = ad->len_;
    it->kind_ = KIND_ARGV;
  } else if (get_body(ad, SDK_ARGDATA_SEQ, &b, &n)) {
    it->buf_ = b;
    it->len_ = n;
  } else {
    it->error = CLOUDABI_EINVAL;
    return;
  }
  seq_load(it);
}

bool argdata_seq_get(const argdata_seq_iterator_t *it,
                     const argdata_t **element) {
  if (!it->valid_)
    return false;
  *element = &it->value_;
  return true;
}

void argdata_seq_next(argdata_seq_iterator_t *it) {
  if (it->valid_)
    seq_load(it);
}

/* Callback iteration. */

int argdata_iterate_map(const argdata_t *ad, void *arg,
                        bool (*fn)(const argdata_t *, const argdata_t *,
                                   void *)) {
  argdata_map_iterator_t it;
  const argdata_t *key, *value;
  argdata_map_iterate(ad, &it);
  while (argdata_map_get(&it, &key, &value)) {
    if (!fn(key, value, arg))
      return 0;
    argdata_map_next(&it);
  }
  return it.error;
}

int argdata_iterate_seq(const argdata_t *ad, void *arg,
                        bool (*fn)(const argdata_t *, void *)) {
  argdata_seq_iterator_t it;
  const argdata_t *element;
  argdata_seq_iterate(ad, &it);
  while (argdata_seq_get(&it, &element)) {
    if (!fn(element, arg))
      return 0;
    argdata_seq_next(&it);
  }
  return it.error;
}

int sdk_argdata_map_lookup(const argdata_t *ad, const char *key,
                           argdata_t *value) {
  size_t key_len = strlen(key);
  argdata_map_iterator_t it;
  const argdata_t *k, *v;
  argdata_map_iterate(ad, &it);
  while (argdata_map_get(&it, &k, &v)) {
    const char *s;
    size_t len;
    if (argdata_get_str(k, &s, &len) == 0 && len == key_len &&
        memcmp(s, key, len) == 0) {
      *value = *v;
      return 0;
    }
    argdata_map_next(&it);
  }
  return it.error != 0 ? it.error : CLOUDABI_ENOENT;
}
